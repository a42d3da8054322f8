//! Attachments as callers handle them (R7, R18, R19, R30, R33): the use cases behind
//! `upload-attachment`'s routes. A file is admitted (checked, charged, recorded pending, with
//! an upload target the bucket itself enforces), completed (R19's check, shared with
//! `validate-attachment` in [`crate::validation`]), and read back with a download link to
//! its validated copy once clean.

use domain::attachments::{
    admit as admission, served_content_type, validated_key, AdmissionError, AdmitRequest,
    Attachment, AttachmentStatus, NewFile, UploadTarget, DOWNLOAD_URL_TTL_SECS,
    UPLOAD_URL_TTL_SECS,
};
use domain::error::DomainError;
use domain::ids::{new_id, AttachmentId, ConversationId};
use domain::now_ms;
use thiserror::Error;

use crate::auth::{visible_conversation, Principal};
use crate::backend::Backend;
use crate::quotas::{self, QuotaError};
use crate::validation::{validate, Validation};
use crate::StoreError;

/// Why an attachment use case refused or failed.
#[derive(Debug, Error)]
pub enum AttachmentError {
    /// R7 or R18 refused the file.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    /// `…/complete` before any byte was uploaded (409).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// R33: the caller's daily upload quota is spent.
    #[error(transparent)]
    Quota(#[from] QuotaError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No conversation or attachment of that id that the caller may see.
    #[error("not found")]
    NotFound,
}

/// A clean attachment's download link and when it stops working (epoch ms).
pub type Download = Option<(String, i64)>;

/// Admits a file to a conversation the caller may see: R7 first, then R18's checks on what
/// the client declares, then R33's quota (100 files or 500 MB declared a day). The record is
/// stored pending before the upload target is made.
pub async fn admit(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    body: &AdmitRequest,
) -> Result<(Attachment, UploadTarget), AttachmentError> {
    let conversation = visible_conversation(backend.store.as_ref(), principal, cid)
        .await?
        .ok_or(AttachmentError::NotFound)?;
    if !backend
        .settings(&principal.account_id)
        .await?
        .attachments
        .enabled
    {
        return Err(AdmissionError::Disabled.into());
    }
    let extension = admission(body)?;
    let now = now_ms();
    quotas::charge(
        backend.store.as_ref(),
        principal,
        &quotas::UPLOADS_PER_DAY,
        &[1, body.size as u64],
        now,
    )
    .await?;
    let attachment = Attachment::pending(NewFile {
        account_id: &conversation.account_id,
        conversation_id: &conversation.id,
        id: new_id(AttachmentId::PREFIX),
        uploader_id: &principal.user_id,
        declared: body,
        extension,
        now,
    });
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
    Ok((attachment, target))
}

/// The attachment `aid` of a conversation the caller may see.
async fn load(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
) -> Result<Attachment, AttachmentError> {
    let conversation = visible_conversation(backend.store.as_ref(), principal, cid)
        .await?
        .ok_or(AttachmentError::NotFound)?;
    backend
        .store
        .get_attachment(&conversation.account_id, &conversation.id, aid.as_str())
        .await?
        .ok_or(AttachmentError::NotFound)
}

/// The client says its upload is done: R19's check runs now unless the bucket's notification
/// ran it first. The decided attachment, or `NotUploaded` while no byte is there.
pub async fn complete(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
) -> Result<Attachment, AttachmentError> {
    let attachment = load(backend, principal, cid, aid).await?;
    match validate(
        backend.store.as_ref(),
        backend.objects.as_ref(),
        attachment,
        now_ms(),
    )
    .await?
    {
        Validation::Decided(decided) => Ok(decided),
        Validation::NotUploaded(_) => Err(DomainError::NotUploaded.into()),
    }
}

/// A link that downloads a clean attachment's validated copy (R30) for `ttl_secs`.
pub async fn download_link(
    objects: &dyn crate::ports::ObjectStore,
    attachment: &Attachment,
    ttl_secs: u64,
) -> Result<String, StoreError> {
    // Always a download (Content-Disposition: attachment), typed from the extension; SVG
    // as opaque bytes so no browser renders it.
    let content_type = if attachment.download_only {
        "application/octet-stream"
    } else {
        served_content_type(&attachment.extension)
    };
    objects
        .download_url(
            &validated_key(&attachment.object_key),
            &attachment.file_name,
            content_type,
            ttl_secs,
        )
        .await
}

/// An attachment's record and, once clean, a download link to its validated copy (R30).
pub async fn status(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    aid: &AttachmentId,
) -> Result<(Attachment, Download), AttachmentError> {
    let attachment = load(backend, principal, cid, aid).await?;
    if attachment.status != AttachmentStatus::Clean {
        return Ok((attachment, None));
    }
    let url = download_link(backend.objects.as_ref(), &attachment, DOWNLOAD_URL_TTL_SECS).await?;
    let expires_at = now_ms() + DOWNLOAD_URL_TTL_SECS as i64 * 1000;
    Ok((attachment, Some((url, expires_at))))
}
