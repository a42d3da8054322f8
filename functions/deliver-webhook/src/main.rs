//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

use std::sync::Arc;

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), edge::lambda::Error> {
    let sender = Arc::new(adapters::wiring::webhook_sender()?);
    edge::lambda::run_sqs(adapters::wiring::DYNAMODB_AND_SQS, move |backend, batch| {
        let sender = sender.clone();
        async move {
            deliver_webhook::handle_batch(&backend, sender.as_ref(), &batch, Default::default())
                .await
        }
    })
    .await
}
