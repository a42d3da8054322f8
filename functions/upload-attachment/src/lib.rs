//! `upload-attachment`: admission of files (R7, R18), upload targets S3 enforces, status and
//! download URLs of clean files (R19).
//!
//! Routes (spec "HTTP contract"):
//! - `POST /v1/conversations/{cid}/attachments`
//! - `POST /v1/conversations/{cid}/attachments/{aid}/complete`
//! - `GET /v1/conversations/{cid}/attachments/{aid}`

use http::StatusCode;

use domain::attachments::{
    admit, object_key, served_content_type, AdmissionError, AdmitRequest, Attachment,
    AttachmentStatus, DOWNLOAD_URL_TTL_SECS, UPLOAD_URL_TTL_SECS,
};
use domain::ids::{new_id, AttachmentId, ConversationId};
use domain::now_ms;
use domain::views::{admitted_view, decision_view, downloadable_view};
use edge::api::{
    attachment_id, conversation_id, json, parse_json, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, UPLOAD_ATTACHMENT};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::conversations;
use use_cases::validation::{validate, Validation};

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(UPLOAD_ATTACHMENT, backend, &request, dispatch).await
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    let cid = &conversation_id(&route)?;
    match route.operation() {
        Operation::AdmitAttachment => create(backend, &principal, cid, request).await,
        Operation::CompleteAttachment => {
            let aid = &attachment_id(&route)?;
            complete(backend, &principal, cid, aid, request).await
        }
        Operation::GetAttachment => status(backend, &principal, cid, &attachment_id(&route)?).await,
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

/// The attachment `aid` of a conversation the caller may see; 404 otherwise.
async fn load(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
) -> Result<Attachment, ApiError> {
    let conversation = conversations::visible(backend.store.as_ref(), principal, cid).await?;
    backend
        .store
        .get_attachment(&conversation.account_id, &conversation.id, aid.as_str())
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn create(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: AdmitRequest = parse_json(request)?;
    let conversation = conversations::visible(backend.store.as_ref(), principal, cid).await?;
    // R7 before anything else about the file.
    if !backend
        .settings(&principal.account_id)
        .await?
        .attachments
        .enabled
    {
        return Err(AdmissionError::Disabled.into());
    }
    let extension = admit(&body)?;
    let now = now_ms();
    // R33: at most 100 files or 500 MB (declared) a day per end user or visitor.
    use_cases::quotas::charge(
        backend.store.as_ref(),
        principal,
        &use_cases::quotas::UPLOADS_PER_DAY,
        &[1, body.size as u64],
        now,
    )
    .await?;
    let id = new_id(AttachmentId::PREFIX);
    let attachment = Attachment {
        object_key: object_key(&conversation.account_id, &conversation.id, &id),
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        id,
        uploader_id: principal.user_id.clone(),
        file_name: body.file_name.clone(),
        extension,
        declared_content_type: body.content_type.clone(),
        // `admit` checked 1..=50 MB.
        declared_size: body.size as u64,
        size: None,
        status: AttachmentStatus::Pending,
        reason: None,
        download_only: false,
        created_at: now,
        decided_at: None,
    };
    backend.store.create_attachment(&attachment).await?;
    // S3 refuses a body over the declared size; the content type is pinned by the policy.
    let target = backend
        .objects
        .upload_target(
            &attachment.object_key,
            &attachment.declared_content_type,
            attachment.declared_size,
            UPLOAD_URL_TTL_SECS,
        )
        .await?;
    tracing::info!(
        account_id = %attachment.account_id,
        conversation_id = %attachment.conversation_id,
        attachment_id = %attachment.id,
        extension = %attachment.extension,
        declared_size = attachment.declared_size,
        "attachment admitted"
    );
    Ok(json(
        StatusCode::CREATED,
        &admitted_view(&attachment, &target),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {}

async fn complete(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let CompleteRequest {} = parse_json(request)?;
    let attachment = load(backend, principal, cid, aid).await?;
    match validate(
        backend.store.as_ref(),
        backend.objects.as_ref(),
        attachment,
        now_ms(),
    )
    .await?
    {
        Validation::Decided(decided) => Ok(json(StatusCode::OK, &decision_view(&decided))),
        Validation::NotUploaded(_) => Err(domain::error::DomainError::NotUploaded.into()),
    }
}

async fn status(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
) -> Result<ApiResponse, ApiError> {
    let attachment = load(backend, principal, cid, aid).await?;
    if attachment.status != AttachmentStatus::Clean {
        return Ok(json(StatusCode::OK, &downloadable_view(&attachment, None)));
    }
    // Always a download (Content-Disposition: attachment), typed from the extension; SVG
    // as opaque bytes so no browser renders it.
    let content_type = if attachment.download_only {
        "application/octet-stream"
    } else {
        served_content_type(&attachment.extension)
    };
    let url = backend
        .objects
        .download_url(
            // R30: the validated copy, never the upload key.
            &domain::attachments::validated_key(&attachment.object_key),
            &attachment.file_name,
            content_type,
            DOWNLOAD_URL_TTL_SECS,
        )
        .await?;
    let expires_at = now_ms() + DOWNLOAD_URL_TTL_SECS as i64 * 1000;
    Ok(json(
        StatusCode::OK,
        &downloadable_view(&attachment, Some((&url, expires_at))),
    ))
}
