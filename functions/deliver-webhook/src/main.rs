//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

use std::sync::Arc;

use shared::adapters::webhook_http::{HttpWebhookSender, DELIVERY_TIMEOUT};

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    // On AWS a delivery only ever goes to public addresses (no loopback flag).
    let sender = Arc::new(HttpWebhookSender::new(false, DELIVERY_TIMEOUT)?);
    shared::lambda::run_sqs(
        shared::adapters::wiring::DYNAMODB_AND_SQS,
        move |backend, batch| {
            let sender = sender.clone();
            async move {
                deliver_webhook::handle_batch(&backend, sender.as_ref(), &batch, Default::default())
                    .await
            }
        },
    )
    .await
}
