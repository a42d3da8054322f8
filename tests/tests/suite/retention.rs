//! Retention (#19, `messaging.retention_days`), on the emulator: a conversation at rest carries
//! the table's TTL attribute (`expires_at` = last activity + the period), kept by the change
//! stream and stamped by the settings effect; when the TTL removes it, the fan-out purges the
//! rest of it and validate-attachment deletes its files. moto does not run TTL, so the test
//! deletes the item itself and feeds the fan-out the stream record DynamoDB's TTL writes.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::idle_sessions::{IdleCheck, IdleVerdict};
use domain::model::{Conversation, Priority, Role, SessionState};
use domain::settings::SettingsEffect;
use edge::lambda::DynamoDbStreamEvent;
use integration_tests::agents::{accept, agent, load, offered_to, waiting};
use integration_tests::live::stream_record;
use integration_tests::{json, RecordingQueue, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::ports::ReceivedMessage;

const DAY: i64 = 86_400;

async fn set(app: &TestApp, patch: Value) -> integration_tests::Reply {
    app.patch_settings(&app.token(Role::Admin, "admin-1"), patch)
        .await
}

/// A conversation at rest: routed, accepted, one end-user message, then ended by the idle
/// timeout (capacity released, no offer, not waiting).
async fn conversation_at_rest(app: &TestApp, user: &str) -> Conversation {
    agent(app, "ag-1", 5, &[], "online").await;
    let cid = waiting(app, user, Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(app, &cid).await.as_deref(), Some("ag-1"));
    assert_eq!(accept(app, "ag-1", &cid).await.status, StatusCode::OK);
    let said = app
        .send_text(&cid, &app.token(Role::EndUser, user), "m1", "hello")
        .await;
    assert_eq!(said.status, StatusCode::CREATED);
    let message = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .find(|m| m.client_message_id == "m1")
        .expect("stored");
    let check = IdleCheck::after(&message).expect("an end user's message");
    let verdict =
        route_conversation::handle_idle_check(&app.backend, &check, message.created_at + 600_000)
            .await
            .unwrap();
    assert_eq!(verdict, IdleVerdict::End);
    let conversation = app.stored_conversation(&cid).await;
    assert_eq!(conversation.session, SessionState::Ended);
    assert!(
        domain::retention::is_at_rest(&conversation),
        "{conversation:?}"
    );
    assert_eq!(load(app, "ag-1").await, (0, 0));
    conversation
}

/// Waits (up to 10 s) until the stored conversation satisfies `settled`.
async fn conversation_when(
    app: &TestApp,
    cid: &str,
    settled: impl Fn(&Conversation) -> bool,
) -> Conversation {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let conversation = app.stored_conversation(cid).await;
        if settled(&conversation) {
            return conversation;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never settled: {conversation:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn retention_outside_a_day_to_ten_years_is_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let before = app.get("/v1/settings", &admin).await.body;
    let settings = super::settings_api::admin(&app);
    for (days, code, named) in [
        (json!(0), "invalid_setting", "messaging.retention_days"),
        (json!(3651), "invalid_setting", "messaging.retention_days"),
        (json!(-1), "invalid_setting", "wrong type"),
        (json!("30"), "invalid_setting", "wrong type"),
    ] {
        let reply = settings
            .patch(Some(0), json!({"messaging": {"retention_days": days}}))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{days}");
        assert_eq!(reply.error_code(), code, "{days}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{days}: {message}");
    }
    assert_eq!(app.get("/v1/settings", &admin).await.body, before);
    set(&app, json!({"messaging": {"retention_days": 30}})).await;
    let stored = app.get("/v1/settings", &admin).await;
    assert_eq!(stored.body["settings"]["messaging"]["retention_days"], 30);
}

#[tokio::test]
async fn a_conversation_at_rest_expires_after_its_period_until_its_end_user_writes_again() {
    let app = TestApp::start_live().await;
    assert_eq!(
        set(
            &app,
            json!({"messaging": {"retention_days": 30, "idle_timeout_minutes": 5}})
        )
        .await
        .status,
        StatusCode::OK
    );
    let rested = conversation_at_rest(&app, "bob").await;
    // The stream's consumer stamps it: last activity plus thirty days. (The end notice's
    // activity may land after a first stamp made from the message before it; that write
    // carries the stamp along until the stream stamps its own change, so the test waits for
    // the stamp of the latest activity, and fails if it never comes.)
    let stamped = conversation_when(&app, &rested.id, |c| {
        c.expires_at == Some(c.activity_at() / 1000 + 30 * DAY)
    })
    .await;
    assert_eq!(
        stamped.expires_at,
        Some(stamped.activity_at() / 1000 + 30 * DAY)
    );
    // The end user writes again: a new session runs, and nothing running ever expires.
    let again = app
        .send_text(
            &rested.id,
            &app.token(Role::EndUser, "bob"),
            "m2",
            "still there?",
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    let running = conversation_when(&app, &rested.id, |c| c.expires_at.is_none()).await;
    assert_eq!(running.session, SessionState::Active);
}

#[tokio::test]
async fn a_retention_change_stamps_conversations_at_rest_and_null_takes_the_stamp_away() {
    // No fan-out runs here: only the settings effect writes expiries.
    let app = TestApp::start().await;
    set(&app, json!({"messaging": {"idle_timeout_minutes": 5}})).await;
    let rested = conversation_at_rest(&app, "carol").await;
    let running = app.new_conversation("dave").await;
    assert_eq!(rested.expires_at, None);

    let run_effects = || async {
        let jobs = app
            .backend
            .store
            .pending_effects(&app.account.id)
            .await
            .unwrap();
        assert!(
            jobs.iter()
                .any(|j| j.effect == SettingsEffect::ApplyRetention),
            "{jobs:?}"
        );
        for job in jobs {
            use_cases::settings_effects::carry_out(&app.backend, job)
                .await
                .unwrap();
        }
    };
    set(&app, json!({"messaging": {"retention_days": 7}})).await;
    run_effects().await;
    let stamped = app.stored_conversation(&rested.id).await;
    assert_eq!(
        stamped.expires_at,
        Some(stamped.activity_at() / 1000 + 7 * DAY)
    );
    assert_eq!(app.stored_conversation(&running).await.expires_at, None);

    set(&app, json!({"messaging": {"retention_days": null}})).await;
    run_effects().await;
    assert_eq!(app.stored_conversation(&rested.id).await.expires_at, None);
}

/// The table key of a conversation's item.
fn conversation_key(app: &TestApp, cid: &str) -> std::collections::HashMap<String, AttributeValue> {
    let pk = AttributeValue::S(format!("A#{}#C#{cid}", app.account.id));
    [
        ("pk".to_string(), pk),
        ("sk".into(), AttributeValue::S("CONV".into())),
    ]
    .into()
}

/// The conversation item as the DynamoDB adapter stored it, in DynamoDB JSON.
async fn conversation_image(app: &TestApp, cid: &str) -> Value {
    let provisioned = integration_tests::provisioned().await;
    let client = aws_sdk_dynamodb::Client::new(&integration_tests::emulator_config().await);
    let item = client
        .get_item()
        .table_name(&provisioned.table_name)
        .set_key(Some(conversation_key(app, cid)))
        .send()
        .await
        .unwrap()
        .item
        .expect("the stored conversation");
    let item: serde_dynamo::Item = item.into();
    serde_json::to_value(item).unwrap()
}

/// What DynamoDB's TTL does: deletes the item (a service deletion on the stream).
async fn ttl_deletes(app: &TestApp, cid: &str) {
    let provisioned = integration_tests::provisioned().await;
    let client = aws_sdk_dynamodb::Client::new(&integration_tests::emulator_config().await);
    client
        .delete_item()
        .table_name(&provisioned.table_name)
        .set_key(Some(conversation_key(app, cid)))
        .send()
        .await
        .unwrap();
}

/// The stream record of a TTL deletion of `old` (REMOVE, by the DynamoDB service).
fn ttl_removal(sequence_number: &str, old: &Value) -> Value {
    let mut record = stream_record(sequence_number, Some(old), None);
    record["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    record
}

async fn object_exists(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    s3.head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn an_expired_conversation_is_purged_with_its_files_and_its_neighbours_are_not() {
    let app = TestApp::start().await;
    let eu = app.token(Role::EndUser, "erin");
    let expired = app.new_conversation("erin").await;
    let neighbour = app.new_conversation("erin").await;
    for (cid, id) in [(&expired, "a1"), (&expired, "a2"), (&neighbour, "b1")] {
        let reply = app.send_text(cid, &eu, id, "my card ends 4242").await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let provisioned = integration_tests::provisioned().await;
    let bucket = provisioned.bucket_name.clone();
    let s3 = aws_sdk_s3::Client::new(&integration_tests::emulator_config().await);
    let account = app.account.id.clone();
    let files = [
        format!("a/{account}/{expired}/att_1"),
        format!("v/{account}/{expired}/att_1"),
        format!("a/{account}/{expired}/att_2"),
        format!("a/{account}/{neighbour}/att_3"),
    ];
    for key in &files {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"bytes".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let mut backend = app.backend.clone();
    let file_jobs = Arc::new(RecordingQueue::default());
    backend.attachment_events_queue = file_jobs.clone();
    let feed = |records: Vec<Value>| {
        let backend = backend.clone();
        async move {
            let event: DynamoDbStreamEvent =
                serde_json::from_value(json!({ "Records": records })).expect("AWS's event shape");
            serde_json::to_value(fan_out::handle(&backend, event).await).unwrap()
        }
    };

    // A conversation removed before its expiry (or without one) is no expiry: nothing goes.
    let image = conversation_image(&app, &expired).await;
    let answer = feed(vec![ttl_removal("1", &image)]).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(app.stored_messages(&expired).await.len(), 2);
    assert!(file_jobs.sent.lock().unwrap().is_empty());

    // A running conversation whose old expiry passed is never purged (#32 item 5: the write
    // that revived it took the expiry away; were one left, its messages stay).
    let mut image = image;
    let past = domain::now_ms() / 1000 - 60;
    image["expires_at"] = json!({"N": past.to_string()});
    let answer = feed(vec![ttl_removal("2a", &image)]).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(app.stored_messages(&expired).await.len(), 2);
    assert!(file_jobs.sent.lock().unwrap().is_empty());

    // At rest, its expiry passed a minute ago, and the TTL took the item.
    image["session"] = json!({"S": "ended"});
    ttl_deletes(&app, &expired).await;
    let answer = feed(vec![ttl_removal("2", &image)]).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert!(app.stored_messages(&expired).await.is_empty());
    let replay = app
        .send_text(&expired, &eu, "a1", "my card ends 4242")
        .await;
    assert_eq!(replay.status, StatusCode::NOT_FOUND, "{:?}", replay.body);
    assert_eq!(app.stored_messages(&neighbour).await.len(), 1);

    // The files go through validate-attachment's queue, as one job for the conversation.
    let sent = file_jobs.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let batch = vec![ReceivedMessage {
        message_id: "purge-1".into(),
        receipt: "r".into(),
        body: sent[0].0.clone(),
        receive_count: 1,
    }];
    assert!(validate_attachment::handle_events(&app.backend, &batch)
        .await
        .is_empty());
    for key in &files[..3] {
        assert!(!object_exists(&s3, &bucket, key).await, "{key} kept");
    }
    assert!(object_exists(&s3, &bucket, &files[3]).await);
    // Redelivered (the stream and SQS are at least once): harmless.
    assert_eq!(
        feed(vec![ttl_removal("2", &image)]).await["batchItemFailures"],
        json!([])
    );
    assert!(validate_attachment::handle_events(&app.backend, &batch)
        .await
        .is_empty());
}
