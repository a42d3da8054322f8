//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_http(
        shared::adapters::wiring::DYNAMODB_PUSH_AND_SQS,
        |backend, request| async move { ingest_message::handle(&backend, request).await },
    )
    .await
}
