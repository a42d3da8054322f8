//! The floor under every function's cold start: `hello-lambda` plus what any function that
//! talks to DynamoDB must do before its first event (the product's SDK configuration and one
//! DynamoDB client, built as `adapters::wiring` builds them), linked and run as the functions
//! are (fixed address, one thread). The bench reports each function against this too, so what
//! the AWS SDK costs is told apart from what the product adds.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sdk = adapters::wiring::load_aws_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = client;
        Ok::<_, Error>(event.payload)
    }))
    .await
}
