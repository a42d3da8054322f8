//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_events(
        shared::adapters::wiring::DYNAMODB_AND_PUSH,
        |backend, event| async move { realtime::handle(&backend, event).await },
    )
    .await
}
