//! Lambda entry point of the settings side-effects worker (SQS, partial batch responses).

// One event at a time per environment: one thread (docs/decisions.md, "One thread per function").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run_sqs(
        shared::adapters::wiring::DYNAMODB_AND_SQS,
        |backend, batch| async move { update_settings::handle_effects(&backend, &batch).await },
    )
    .await
}
