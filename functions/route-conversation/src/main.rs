//! Lambda entry point: configuration and clients only; the handler lives in `lib.rs`.

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run_sqs(adapters::wiring::TIMERS, |backend, batch| async move {
        route_conversation::handle_batch(&backend, &batch).await
    })
    .await
}
