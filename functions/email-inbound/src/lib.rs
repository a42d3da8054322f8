//! `email-inbound`: SES's receipt rule stores each inbound mail under `e/in/` in the bucket;
//! the bucket's notification reaches this function through its queue, and every mail is read
//! and appended to its conversation (R35, `use_cases::email::inbound`). A mail that cannot be
//! appended is dropped and listed, never retried; a store or bucket failure fails its queue
//! message alone (partial batch response), retried and then dead-lettered.

use domain::attachments::S3EventNotification;
use domain::email::inbound::INBOUND_MAIL_PREFIX;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::email::inbound::{receive, InboundError, Received};
use use_cases::ports::ReceivedMessage;

/// Processes a batch; returns the ids of the messages that failed.
pub async fn handle_events(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    run_batch(
        "email-inbound",
        batch,
        |notification: S3EventNotification| async move {
            handle_notification(backend, &notification)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// Every inbound mail a notification announces, received in order.
pub async fn handle_notification(
    backend: &Backend,
    notification: &S3EventNotification,
) -> Result<Vec<Received>, InboundError> {
    let mut received = Vec::new();
    for record in &notification.records {
        let key = record.object_key();
        // The bucket's notification filters on the prefix; anything else is not mail.
        if !record.event_name.starts_with("ObjectCreated") || !key.starts_with(INBOUND_MAIL_PREFIX)
        {
            continue;
        }
        received.push(receive(backend, &key, domain::now_ms()).await?);
    }
    Ok(received)
}
