//! A cost guard: the AWS requests of one plain message, recorded on the wire. The bench prices
//! them (docs/performance.md); this fails CI when their shape changes, so a cost regression
//! (a transaction, an extra read, a hot account-partition key) cannot land unnoticed.

use std::collections::BTreeMap;

use domain::model::Role;
use integration_tests::faults::{dependent_stages, without_idle_polls, FaultProxy};
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

/// The append's floor in dependent round trips: the idempotency claim, then the message
/// (R13 + R14 without a transaction; docs/performance.md).
const FLOOR_STAGES: usize = 2;
/// Plain messages measured per test; the fewest stages any of them took is the path's (a
/// loaded machine can only delay a request into a later stage, never take one away).
const MEASURED: usize = 3;

#[tokio::test]
async fn a_plain_message_is_two_reads_one_query_and_two_conditional_puts() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 4).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    // The first message changes the ticket; the next ones are the plain case measured.
    let first = app.send_text(&cid, &token, "m-1", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let mut stages = Vec::new();
    for n in 2..2 + MEASURED {
        proxy.start_recording();
        let reply = app
            .send_text(&cid, &token, &format!("m-{n}"), "an ordinary message")
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let requests = without_idle_polls(proxy.take_recording());
        assert_plain_shape(&app, &cid, &requests);
        stages.push(dependent_stages(&requests));
    }
    // One round trip of reads (sent together), then the floor's two writes in order.
    let fewest = stages.iter().min().copied();
    assert_eq!(
        fewest,
        Some(FLOOR_STAGES + 1),
        "stages per message: {stages:?}"
    );
}

fn assert_plain_shape(app: &TestApp, cid: &str, requests: &[integration_tests::faults::Exchange]) {
    // The reads: the conversation and its push cursor (R27's fast path, which nobody
    // listening here leaves unused: no cursor write, no connection lookup).
    let expected = counts(&[
        ("DynamoDB_20120810.GetItem", 2),
        ("DynamoDB_20120810.Query", 1),
        ("DynamoDB_20120810.PutItem", 2),
    ]);
    assert_eq!(by_operation(requests), expected, "{requests:#?}");
    let cursor_reads = requests
        .iter()
        .filter(|e| {
            e.request
                .contains(&format!("\"PUSH#{}#{cid}\"", app.account.id))
        })
        .count();
    assert_eq!(cursor_reads, 1, "{requests:#?}");
    for exchange in requests {
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
    let mut stages = Vec::new();
    for n in 2..2 + MEASURED {
        proxy.start_recording();
        let reply = app
            .send_text(&cid, &token, &format!("m-{n}"), "an ordinary message")
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let frame = reader
            .expect("message.created", std::time::Duration::from_secs(5))
            .await;
        assert_eq!(frame["data"]["message"]["seq"], n);
        let requests = without_idle_polls(proxy.take_recording());
        assert_pushed_shape(&cid, &app.account.id, &requests);
        stages.push(dependent_stages(&requests));
    }
    // The reads; the claim, with the connection lookups beside it; the message; the cursor
    // (the push itself is API Gateway's, not the table's): twice the floor.
    let fewest = stages.iter().min().copied();
    assert_eq!(
        fewest,
        Some(2 * FLOOR_STAGES),
        "stages per message: {stages:?}"
    );
}

fn assert_pushed_shape(cid: &str, account: &str, requests: &[integration_tests::faults::Exchange]) {
    // Besides the plain case: the end user's connections and the conversation's subscribers
    // (nobody is assigned yet), and one conditional cursor update.
    let expected = counts(&[
        ("DynamoDB_20120810.GetItem", 2),
        ("DynamoDB_20120810.Query", 3),
        ("DynamoDB_20120810.PutItem", 2),
        ("DynamoDB_20120810.UpdateItem", 1),
    ]);
    assert_eq!(by_operation(requests), expected, "{requests:#?}");
    let update = requests
        .iter()
        .find(|e| e.target.as_deref() == Some("DynamoDB_20120810.UpdateItem"))
        .expect("the cursor update");
    let body: serde_json::Value = serde_json::from_str(&update.request).unwrap();
    assert!(body["ConditionExpression"].is_string(), "{body}");
    assert_eq!(body["Key"]["pk"]["S"], format!("PUSH#{}#{cid}", account));
}

/// The account's settings item read by the recorded requests.
fn settings_reads(requests: &[integration_tests::faults::Exchange], account: &str) -> usize {
    requests
        .iter()
        .filter(|e| e.target.as_deref() == Some("DynamoDB_20120810.GetItem"))
        .filter(|e| {
            e.request.contains(&format!("\"A#{account}\"")) && e.request.contains("\"SETTINGS\"")
        })
        .count()
}

/// The fan-out of `message`'s change (an end user's new message), recorded on the wire.
async fn fan_out_recorded(
    proxy: &FaultProxy,
    backend: &use_cases::Backend,
    message: &domain::model::Message,
) -> Vec<integration_tests::faults::Exchange> {
    use domain::realtime::{Stored, StoredChange};
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message.clone()))),
    };
    proxy.start_recording();
    use_cases::stream_reactions::fan_out(backend, &[change], message.created_at)
        .await
        .expect("fan-out");
    without_idle_polls(proxy.take_recording())
}

#[tokio::test]
async fn the_fan_out_reads_the_settings_at_most_once_per_change_and_a_warm_one_not_again() {
    use std::sync::Arc;
    use use_cases::settings_cache::SettingsCache;
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 6).await;
    let app = TestApp::start_at(&proxy.url).await;
    let admin = app.token(Role::Admin, "admin-1");
    // Two of a message's reactions read the settings: the built-in bot (on by default) and
    // the idle check.
    let set = app
        .patch_settings(
            &admin,
            serde_json::json!({"messaging": {"idle_timeout_minutes": 30}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    for (id, text) in [("m-1", "hello"), ("m-2", "are you there?")] {
        let sent = app.send_text(&cid, &token, id, text).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    }
    let stored = app.stored_messages(&cid).await;
    let of_end_user: Vec<_> = stored.iter().filter(|m| m.author_id == "eu-1").collect();
    assert_eq!(of_end_user.len(), 2);
    let account = app.account.id.clone();

    // A fan-out function that just started (nothing cached): one read for the whole change.
    let cold = use_cases::Backend {
        settings_cache: Arc::new(SettingsCache::default()),
        knowledge_indexes: Arc::default(),
        ..app.backend.clone()
    };
    let first = fan_out_recorded(&proxy, &cold, of_end_user[0]).await;
    assert_eq!(settings_reads(&first, &account), 1, "{first:#?}");
    // Warm: the next change reads none.
    let second = fan_out_recorded(&proxy, &cold, of_end_user[1]).await;
    assert_eq!(settings_reads(&second, &account), 0, "{second:#?}");

    // Control: with nothing kept, every reaction that needs the settings reads them.
    let uncached = use_cases::Backend {
        settings_cache: Arc::new(SettingsCache::with_ttl(std::time::Duration::ZERO)),
        ..app.backend.clone()
    };
    let each = fan_out_recorded(&proxy, &uncached, of_end_user[1]).await;
    assert_eq!(settings_reads(&each, &account), 2, "{each:#?}");
}
