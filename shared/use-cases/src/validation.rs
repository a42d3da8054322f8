//! R19's second check, run by `validate-attachment` on S3's notification and by
//! `upload-attachment` on `…/complete`, whichever comes first. Both paths are idempotent: the
//! decision is stored once (conditional on the attachment still being pending) and a repeated
//! run returns it. File purges are handed to the same function (`queue_file_purge`) and carried
//! out by it ([`purge_files`]); [`handle_notification`] is its side of S3's notification.

use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::{AttachmentStore, ObjectStore, Queue};
use domain::attachments::{
    inspect, needs_whole_object, parse_object_key, validated_key, Attachment, AttachmentStatus,
    FilePurge, PurgedFiles, RejectReason, S3EventNotification, Verdict, MAX_ATTACHMENT_BYTES,
    SNIFF_BYTES,
};

/// What a validation run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// Decided now or earlier; the stored attachment.
    Decided(Attachment),
    /// Nothing has been uploaded yet: still pending.
    NotUploaded(Attachment),
}

/// Inspects the uploaded bytes of a pending attachment and stores the verdict; rejected bytes
/// are deleted. An attachment already decided comes back unchanged.
pub async fn validate(
    store: &dyn AttachmentStore,
    objects: &dyn ObjectStore,
    attachment: Attachment,
    now: i64,
) -> Result<Validation, StoreError> {
    if attachment.status != AttachmentStatus::Pending {
        return Ok(Validation::Decided(attachment));
    }
    let Some(head) = objects.object_head(&attachment.object_key).await? else {
        return Ok(Validation::NotUploaded(attachment));
    };
    let size = head.size;
    let verdict = if size > attachment.declared_size || size > MAX_ATTACHMENT_BYTES {
        // Never read an oversize body.
        Verdict::Rejected(RejectReason::SizeMismatch)
    } else {
        let wanted = if needs_whole_object(&attachment.extension) {
            size
        } else {
            SNIFF_BYTES.min(size)
        };
        // Only the version measured above: bytes sent again since are a later run's.
        let content = objects
            .read_prefix(&attachment.object_key, wanted, &head.etag)
            .await?;
        inspect(
            &attachment.extension,
            attachment.declared_size,
            size,
            &content,
        )
    };
    let mut decided = attachment;
    decided.size = Some(size);
    decided.decided_at = Some(now);
    match &verdict {
        Verdict::Clean { download_only } => {
            decided.status = AttachmentStatus::Clean;
            decided.download_only = *download_only;
        }
        Verdict::Rejected(reason) => {
            decided.status = AttachmentStatus::Rejected;
            decided.reason = Some(reason.code().to_string());
        }
    }
    if decided.status == AttachmentStatus::Clean {
        // R30: the inspected version, copied where no upload target reaches; if the upload was
        // replaced meanwhile the copy fails (Conflict) and nothing is decided: the retry, or
        // the new upload's notification, inspects what is there now.
        objects
            .copy_if_unchanged(
                &decided.object_key,
                &validated_key(&decided.object_key),
                &head.etag,
            )
            .await?;
    }
    let stored = store.decide_attachment(&decided).await?;
    if stored.status == AttachmentStatus::Rejected {
        // Rejected bytes are never served; deleting again after a retry is harmless.
        objects.delete(&stored.object_key).await?;
    }
    tracing::info!(
        account_id = %stored.account_id,
        conversation_id = %stored.conversation_id,
        attachment_id = %stored.id,
        status = ?stored.status,
        reason = stored.reason.as_deref().unwrap_or(""),
        size,
        "attachment validated"
    );
    Ok(Validation::Decided(stored))
}

/// Hands a file purge to validate-attachment through its queue (the one function that deletes
/// objects): retention's whole conversations, redaction's and erasure's named attachments.
pub async fn queue_file_purge(queue: &dyn Queue, purge: &FilePurge) -> Result<(), StoreError> {
    let body = serde_json::to_string(purge)
        .map_err(|e| StoreError::Internal(format!("file purge encoding: {e}")))?;
    queue.send(&body, 0).await
}

/// What handling one notification did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// This many attachments were decided by this delivery.
    Decided(usize),
    /// Every attachment named was decided before (a repeated delivery) or is not ours.
    Nothing,
    /// A file purge (an expired conversation, redacted or erased attachments): this many
    /// objects were deleted.
    Purged(usize),
}

/// Deletes the files a purge names: every file of an expired conversation, or the uploads and
/// validated copies of redacted or erased attachments.
pub async fn purge_files(backend: &Backend, purge: &FilePurge) -> Result<Handled, StoreError> {
    let mut deleted = 0;
    for target in purge.targets() {
        match purge.files {
            PurgedFiles::All => deleted += backend.objects.delete_prefix(&target).await?,
            PurgedFiles::Attachments(_) => {
                backend.objects.delete(&target).await?;
                deleted += 1;
            }
        }
    }
    tracing::info!(
        account_id = %purge.account_id,
        conversation_id = %purge.conversation_id,
        deleted,
        "files purged"
    );
    Ok(Handled::Purged(deleted))
}

/// Handles one S3 notification. Idempotent: a repeated delivery changes nothing.
pub async fn handle_notification(
    backend: &Backend,
    notification: S3EventNotification,
) -> Result<Handled, StoreError> {
    let mut decided = 0;
    for record in notification
        .records
        .iter()
        .filter(|r| r.is_object_created())
    {
        let key = record.object_key();
        let Some((account_id, conversation_id, attachment_id)) = parse_object_key(&key) else {
            tracing::warn!(key, "object outside the attachment key layout; ignored");
            continue;
        };
        let Some(attachment) = backend
            .store
            .get_attachment(&account_id, &conversation_id, &attachment_id)
            .await?
        else {
            // Keys are minted only for admitted attachments: an unknown one is not ours to keep.
            tracing::warn!(key, "object without an admitted attachment; deleted");
            backend.objects.delete(&key).await?;
            continue;
        };
        let was_pending = attachment.status == domain::attachments::AttachmentStatus::Pending;
        match validate(
            backend.store.as_ref(),
            backend.objects.as_ref(),
            attachment,
            domain::now_ms(),
        )
        .await?
        {
            Validation::Decided(_) if was_pending => decided += 1,
            Validation::Decided(_) => {}
            // The notification says the object exists; S3 reads are strongly consistent, so
            // this only happens if it was deleted since. Nothing to judge.
            Validation::NotUploaded(_) => {}
        }
    }
    Ok(if decided > 0 {
        Handled::Decided(decided)
    } else {
        Handled::Nothing
    })
}
