//! Lambda entry point of the settings side-effects worker (SQS, partial batch responses).

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run_sqs(
        adapters::wiring::DYNAMODB_AND_SQS,
        |backend, batch| async move { update_settings::handle_effects(&backend, &batch).await },
    )
    .await
}
