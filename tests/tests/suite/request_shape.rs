//! A cost guard: the AWS requests of one plain message, recorded on the wire. The bench prices
//! them (docs/performance.md); this fails CI when their shape changes, so a cost regression
//! (a transaction, an extra read, a hot account-partition key) cannot land unnoticed.

use std::collections::BTreeMap;

use domain::model::Role;
use integration_tests::faults::{without_idle_polls, FaultProxy};
use integration_tests::TestApp;
use reqwest::StatusCode;

/// The requests recorded, counted by DynamoDB operation.
fn by_operation(requests: &[integration_tests::faults::Exchange]) -> BTreeMap<String, usize> {
    let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
    for exchange in requests {
        let target = exchange.target.clone().unwrap_or_else(|| "S3".into());
        *by_operation.entry(target).or_default() += 1;
    }
    by_operation
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn a_plain_message_is_two_reads_one_query_and_two_conditional_puts() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 4).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    // The first message changes the ticket; the second is the plain case measured.
    let first = app.send_text(&cid, &token, "m-1", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED);
    proxy.start_recording();
    let reply = app
        .send_text(&cid, &token, "m-2", "an ordinary message")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let requests = without_idle_polls(proxy.take_recording());

    // The reads: the conversation and its push cursor (R27's fast path, which nobody
    // listening here leaves unused: no cursor write, no connection lookup).
    let expected = counts(&[
        ("DynamoDB_20120810.GetItem", 2),
        ("DynamoDB_20120810.Query", 1),
        ("DynamoDB_20120810.PutItem", 2),
    ]);
    assert_eq!(by_operation(&requests), expected, "{requests:#?}");
    let cursor_reads = requests
        .iter()
        .filter(|e| {
            e.request
                .contains(&format!("\"PUSH#{}#{cid}\"", app.account.id))
        })
        .count();
    assert_eq!(cursor_reads, 1, "{requests:#?}");
    for exchange in &requests {
        let body: serde_json::Value = serde_json::from_str(&exchange.request).unwrap();
        if exchange.target.as_deref() == Some("DynamoDB_20120810.PutItem") {
            assert!(
                body["ConditionExpression"].is_string(),
                "an unconditional put: {body}"
            );
        }
        // Nothing of a plain message touches the account's own partition (hot at scale).
        let account_partition = format!("\"A#{}\"", app.account.id);
        assert!(
            !exchange.request.contains(&account_partition),
            "the account partition was read or written: {body}"
        );
    }
}

#[tokio::test]
async fn a_plain_message_with_a_reader_also_looks_up_its_connections_and_moves_the_cursor_once() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 5).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let mut reader = app.connect(&token).await;
    let first = app.send_text(&cid, &token, "m-1", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED);
    reader
        .expect("message.created", std::time::Duration::from_secs(5))
        .await;
    proxy.start_recording();
    let reply = app
        .send_text(&cid, &token, "m-2", "an ordinary message")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let frame = reader
        .expect("message.created", std::time::Duration::from_secs(5))
        .await;
    assert_eq!(frame["data"]["message"]["seq"], 2);
    let requests = without_idle_polls(proxy.take_recording());
    // Besides the plain case: the end user's connections and the conversation's subscribers
    // (nobody is assigned yet), and one conditional cursor update.
    let expected = counts(&[
        ("DynamoDB_20120810.GetItem", 2),
        ("DynamoDB_20120810.Query", 3),
        ("DynamoDB_20120810.PutItem", 2),
        ("DynamoDB_20120810.UpdateItem", 1),
    ]);
    assert_eq!(by_operation(&requests), expected, "{requests:#?}");
    let update = requests
        .iter()
        .find(|e| e.target.as_deref() == Some("DynamoDB_20120810.UpdateItem"))
        .expect("the cursor update");
    let body: serde_json::Value = serde_json::from_str(&update.request).unwrap();
    assert!(body["ConditionExpression"].is_string(), "{body}");
    assert_eq!(
        body["Key"]["pk"]["S"],
        format!("PUSH#{}#{cid}", app.account.id)
    );
}
