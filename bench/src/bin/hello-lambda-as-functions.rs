//! `hello-lambda` built and run as the functions are: linked at a fixed address
//! (`bench/build.rs`) on a one-thread runtime. What those two choices alone are worth.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
