//! A cost guard: the AWS requests of one plain message, recorded on the wire. The bench prices
//! them (docs/performance.md); this fails CI when their shape changes, so a cost regression
//! (a transaction, an extra read, a hot account-partition key) cannot land unnoticed.

use std::collections::BTreeMap;

use integration_tests::faults::{without_idle_polls, FaultProxy};
use integration_tests::TestApp;
use reqwest::StatusCode;
use shared::model::Role;

#[tokio::test]
async fn a_plain_message_is_one_read_one_query_and_two_conditional_puts() {
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

    let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
    for exchange in &requests {
        let target = exchange.target.clone().unwrap_or_else(|| "S3".into());
        *by_operation.entry(target).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("DynamoDB_20120810.GetItem", 1),
        ("DynamoDB_20120810.Query", 1),
        ("DynamoDB_20120810.PutItem", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(by_operation, expected, "{requests:#?}");
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
