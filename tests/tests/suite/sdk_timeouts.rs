//! #19 item 9: a stalled AWS endpoint must fail a call within the SDK's own timeouts, well
//! inside an HTTP function's 10 s, so the client gets a 503 it can retry instead of a Lambda
//! timeout (and a queue consumer's batch is not held for its whole timeout).

use std::time::{Duration, Instant};

use adapters::dynamo::DynamoStore;
use adapters::wiring::{load_aws_config_at, AWS_TIMEOUTS};
use use_cases::ports::AccountStore;

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

/// #33 item 5: a request has one deadline, not one per AWS call. Through the Lambda entry,
/// a store that stalls every read makes the request answer 503 with `Retry-After` at the
/// deadline (on the main of #33 it waited for every call in turn: 201 after the stalls, or on
/// AWS, with six calls of up to 8 s each, the function's 10 s timeout and a 502).
#[tokio::test]
async fn a_request_past_its_deadline_answers_503_with_retry_after() {
    use domain::model::Role;
    use integration_tests::faults::{Fault, FaultProxy};
    use integration_tests::{endpoint, TestApp};

    let proxy = FaultProxy::start(&endpoint(), 0).await;
    let app = TestApp::start_at(&proxy.url).await;
    let token = app.token(Role::EndUser, "eu-slow");
    let mut backend = app.backend.clone();
    backend.limits.request_deadline = Duration::from_millis(1_500);
    let post = || {
        super::deployed_path::http_api_event(
            "$default",
            "POST",
            "/v1/conversations",
            "",
            Some(&token),
            Some("{}"),
            false,
        )
    };
    // Positive control: within its deadline the request is answered as usual.
    let answered = super::deployed_path::through_lambda(&backend, post()).await;
    assert_eq!(answered.status, 201, "{}", answered.body);

    proxy.fail_next("DynamoDB_20120810.GetItem", Fault::Stall(4_000), u32::MAX);
    proxy.fail_next(
        "DynamoDB_20120810.UpdateItem",
        Fault::Stall(4_000),
        u32::MAX,
    );
    let started = Instant::now();
    let stalled = super::deployed_path::through_lambda(&backend, post()).await;
    let waited = started.elapsed();
    proxy.fail_next("DynamoDB_20120810.GetItem", Fault::Stall(0), 0);
    proxy.fail_next("DynamoDB_20120810.UpdateItem", Fault::Stall(0), 0);
    assert_eq!(stalled.status, 503, "{}", stalled.body);
    assert_eq!(stalled.body["error"]["code"], "service_unavailable");
    assert_eq!(stalled.headers["retry-after"], "1", "{}", stalled.headers);
    assert!(
        waited < Duration::from_millis(2_500),
        "answered after {waited:?}, not at the deadline"
    );
}
