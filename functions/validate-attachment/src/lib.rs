//! `validate-attachment`: S3 ObjectCreated notifications, delivered through SQS, trigger R19's
//! second check of each uploaded attachment. A failed message is reported alone (partial batch
//! response), retried, and dead-lettered after the queue's receive limit. The same queue
//! carries file purges (an expired conversation's files, a redacted message's): this function
//! is the one that deletes files.

use domain::attachments::AttachmentQueueMessage;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::ports::ReceivedMessage;
use use_cases::validation::{handle_notification, purge_files, Handled};
use use_cases::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not an S3 notification: retrying cannot help, the DLQ keeps it for inspection.
    #[error("malformed notification: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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
            Ok(handle_notification(backend, notification).await?)
        }
        AttachmentQueueMessage::Purge(purge) => Ok(purge_files(backend, &purge).await?),
    }
}
