//! `validate-attachment`: S3 ObjectCreated notifications, delivered through SQS, trigger R19's
//! second check of each uploaded attachment. A failed message is reported alone (partial batch
//! response), retried, and dead-lettered after the queue's receive limit. The same queue
//! carries file purges (an expired conversation's files, a redacted message's): this function
//! is the one that deletes files.

use domain::attachments::{
    parse_object_key, AttachmentQueueMessage, FilePurge, PurgedFiles, S3EventNotification,
};
use domain::now_ms;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::ports::ReceivedMessage;
use use_cases::validation::{validate, Validation};
use use_cases::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not an S3 notification: retrying cannot help, the DLQ keeps it for inspection.
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Processes a batch; returns the ids of the messages that failed.
pub async fn handle_events(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    run_batch(
        "validate-attachment",
        batch,
        |message: AttachmentQueueMessage| async move {
            handle_message(backend, message).await.map(|_| ())
        },
    )
    .await
}

/// Handles one message body of the queue (an S3 notification or a file purge).
pub async fn handle_event(backend: &Backend, body: &str) -> Result<Handled, EventError> {
    let message: AttachmentQueueMessage =
        serde_json::from_str(body).map_err(|e| EventError::Malformed(e.to_string()))?;
    handle_message(backend, message).await
}

async fn handle_message(
    backend: &Backend,
    message: AttachmentQueueMessage,
) -> Result<Handled, EventError> {
    match message {
        AttachmentQueueMessage::Notification(notification) => {
            handle_notification(backend, notification).await
        }
        AttachmentQueueMessage::Purge(purge) => purge_files(backend, &purge).await,
    }
}

/// Deletes the files a purge names: every file of an expired conversation, or the uploads and
/// validated copies of redacted or erased attachments.
pub async fn purge_files(backend: &Backend, purge: &FilePurge) -> Result<Handled, EventError> {
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
) -> Result<Handled, EventError> {
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
            now_ms(),
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
