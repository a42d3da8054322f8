//! `deliver-webhook`: the consumer of the webhook queue (spec "Integrations", R29). Each job is
//! one event for one subscription, posted signed (`Relay-Signature`) with a 10 s timeout;
//! a failure waits for its next attempt in the queue itself (`webhook_delivery`), and the
//! queue dead-letters a job after its last attempt. Every attempt is in the delivery log.

use use_cases::backend::Backend;
use use_cases::ports::{ReceivedMessage, WebhookSender};
use use_cases::webhook_delivery::{deliver_batch, RetryPolicy};

/// Delivers one SQS batch; answers the ids of the messages to keep (retried or dead-lettered).
pub async fn handle_batch(
    backend: &Backend,
    sender: &dyn WebhookSender,
    batch: &[ReceivedMessage],
    policy: RetryPolicy,
) -> Vec<String> {
    deliver_batch(
        backend.store.as_ref(),
        backend.webhook_queue.as_ref(),
        sender,
        batch,
        policy,
    )
    .await
}
