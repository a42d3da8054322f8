//! #19 item 9: a stalled AWS endpoint must fail a call within the SDK's own timeouts, well
//! inside an HTTP function's 10 s, so the client gets a 503 it can retry instead of a Lambda
//! timeout (and a queue consumer's batch is not held for its whole timeout).

use std::time::{Duration, Instant};

use shared::adapters::dynamo::DynamoStore;
use shared::adapters::wiring::{load_aws_config_at, AWS_TIMEOUTS};
use shared::ports::AccountStore;

/// An endpoint that accepts connections and never answers.
async fn silent_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{address}"), holder)
}

#[tokio::test]
async fn a_stalled_endpoint_fails_a_call_within_the_sdk_timeouts() {
    let (endpoint, holder) = silent_endpoint().await;
    // AWS's timeouts (an emulator endpoint normally gets longer ones).
    let config = load_aws_config_at(Some(endpoint), AWS_TIMEOUTS).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "relay-messaging");
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), store.get_account("acct")).await;
    let waited = started.elapsed();
    holder.abort();
    let result = outcome.expect("the call gave up by itself");
    assert!(result.is_err(), "a stalled endpoint answered: {result:?}");
    assert!(
        waited <= AWS_TIMEOUTS.operation + Duration::from_secs(2),
        "took {waited:?}"
    );
}
