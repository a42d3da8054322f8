//! What a caller is shown of an attachment (R18–R19, R30).

use serde_json::json;

use crate::attachments::Attachment;
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

/// A decided validation: the decision and the attachment it was made on.
pub fn decision_view(decided: &Attachment) -> serde_json::Value {
    json!({"status": decided.status, "reason": decided.reason, "attachment": attachment_view(decided)})
}
