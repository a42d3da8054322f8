//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run_events(
        adapters::wiring::DYNAMODB_PUSH_AND_SQS,
        |backend, event: serde_json::Value| async move {
            fan_out::handle_event(&backend, event).await
        },
    )
    .await
}
