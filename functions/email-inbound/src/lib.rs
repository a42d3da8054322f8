//! `email-inbound`: SES's receipt rule stores each inbound mail under `e/in/` in the bucket;
//! the bucket's notification reaches this function through its queue, and every mail is read
//! and appended to its conversation (R35, `use_cases::email::inbound`). The same queue carries
//! SES's bounces and complaints about sent email (its configuration set → SNS): their
//! addresses get no more email. A mail that cannot be
//! appended is dropped and listed, never retried; a store or bucket failure fails its queue
//! message alone (partial batch response), retried and then dead-lettered.

use domain::attachments::S3EventNotification;
use domain::email::events::SnsEnvelope;
use domain::email::inbound::INBOUND_MAIL_PREFIX;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::email::inbound::{receive, InboundError, Received};
use use_cases::ports::ReceivedMessage;

/// A message of the queue: SES's event about a sent email (through SNS), or the bucket's
/// notification of stored mail. The envelope is tried first: a notification's only field has
/// a default.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum EmailQueueMessage {
    SesEvent(SnsEnvelope),
    MailStored(S3EventNotification),
}

/// Processes a batch; returns the ids of the messages that failed.
pub async fn handle_events(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    run_batch(
        "email-inbound",
        batch,
        |message: EmailQueueMessage| async move {
            match message {
                EmailQueueMessage::MailStored(notification) => {
                    handle_notification(backend, &notification)
                        .await
                        .map(|_| ())
                }
                EmailQueueMessage::SesEvent(envelope) => {
                    suppress(backend, &envelope).await.map(|_| ())
                }
            }
        },
    )
    .await
}

/// Stops emails to the addresses a bounce or complaint names (R35); answers them.
pub async fn suppress(
    backend: &Backend,
    envelope: &SnsEnvelope,
) -> Result<Vec<String>, InboundError> {
    Ok(
        use_cases::email::suppress_after_event(backend.store.as_ref(), envelope, domain::now_ms())
            .await?,
    )
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
