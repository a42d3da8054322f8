//! What a caller is shown of an attachment (R18–R19, R30).

use serde_json::json;

use crate::attachments::{Attachment, UploadTarget};
use crate::rfc3339;

/// An attachment's record: its status and, once decided, why.
pub fn attachment_view(attachment: &Attachment) -> serde_json::Value {
    json!({
        "id": attachment.id,
        "conversation_id": attachment.conversation_id,
        "status": attachment.status,
        "reason": attachment.reason,
        "file_name": attachment.file_name,
        "declared_size": attachment.declared_size,
        "size": attachment.size,
        "download_only": attachment.download_only,
        "created_at": rfc3339(attachment.created_at),
    })
}

/// An attachment's record and, once clean, a download link valid until `expires_at`.
pub fn downloadable_view(
    attachment: &Attachment,
    download: Option<(&str, i64)>,
) -> serde_json::Value {
    let mut view = attachment_view(attachment);
    if let Some((url, expires_at)) = download {
        view["download_url"] = json!(url);
        view["download_expires_at"] = json!(rfc3339(expires_at));
    }
    view
}

/// A decided validation: the decision and the attachment it was made on.
pub fn decision_view(decided: &Attachment) -> serde_json::Value {
    json!({"status": decided.status, "reason": decided.reason, "attachment": attachment_view(decided)})
}

/// An admitted attachment and where its bytes go: a form's `fields` for a POST, `headers`
/// for a PUT, whichever the bucket asked for.
pub fn admitted_view(attachment: &Attachment, target: &UploadTarget) -> serde_json::Value {
    let pairs = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
    };
    let mut upload = json!({
        "method": target.method,
        "url": target.url,
        "expires_at": rfc3339(target.expires_at),
        "max_size": attachment.declared_size,
    });
    if !target.fields.is_empty() {
        upload["fields"] = serde_json::Value::Object(pairs(&target.fields));
    }
    if !target.headers.is_empty() {
        upload["headers"] = serde_json::Value::Object(pairs(&target.headers));
    }
    json!({
        "attachment_id": attachment.id,
        "status": attachment.status,
        "upload": upload,
    })
}
