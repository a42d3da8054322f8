//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run_http(
        adapters::wiring::DYNAMODB_AND_SQS,
        |backend, request| async move { end_session::handle(&backend, request).await },
    )
    .await
}
