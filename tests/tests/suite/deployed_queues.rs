//! The deployed path of the queue consumers: each one's Lambda entry (`edge::lambda::answer_sqs_event`)
//! fed a recorded SQS event (an S3 notification as the body where S3 announces an upload), on
//! the emulator backend: what it reports for retry and what it did.

use super::deployed_path::context;
use domain::model::Role;
use edge::lambda::{answer_sqs_event, LambdaEvent, SqsEvent};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::backend::Backend;
use use_cases::ports::ReceivedMessage;

fn sqs_event(bodies: &[(&str, String)]) -> Value {
    let records: Vec<(String, String, String, u32)> = bodies
        .iter()
        .map(|(id, body)| {
            (
                id.to_string(),
                format!("AQEB{id}receipt=="),
                body.clone(),
                1,
            )
        })
        .collect();
    integration_tests::sqs_event(&records)
}

/// A consumer's Lambda entry fed `event` (Lambda's SQS event JSON) with the consumer's batch
/// handler, as its `main.rs` hands it to `run_sqs`; the partial batch response, as JSON.
async fn through_sqs_entry<F, Fut>(backend: &Backend, handler: F, event: Value) -> Value
where
    F: Fn(Backend, Vec<ReceivedMessage>) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Vec<String>> + Send,
{
    let payload: SqsEvent = serde_json::from_value(event).expect("Lambda's SQS event");
    let answer = answer_sqs_event(backend, &handler, LambdaEvent::new(payload, context()))
        .await
        .expect("the Lambda entry answers");
    serde_json::to_value(answer).expect("the answer serializes")
}

/// route-conversation's Lambda entry fed `event`.
async fn through_router_entry(backend: &Backend, event: Value) -> Value {
    through_sqs_entry(
        backend,
        |backend: Backend, batch: Vec<ReceivedMessage>| async move {
            route_conversation::handle_batch(&backend, &batch).await
        },
        event,
    )
    .await
}

#[tokio::test]
async fn the_routers_lambda_entry_reports_only_the_poison_message_of_a_recorded_sqs_event() {
    let app = TestApp::start().await;
    integration_tests::agents::agent(&app, "ag-1", 3, &[], "online").await;
    let cid =
        integration_tests::agents::waiting(&app, "alice", domain::model::Priority::Normal, None)
            .await;
    let requests = app.routing_requests().await;
    let request = requests
        .iter()
        .find(|r| r.conversation_id.as_deref() == Some(cid.as_str()))
        .expect("the handoff asked for routing");
    let event = sqs_event(&[
        ("poison-1", "{\"not\": \"a routing request\"".to_string()),
        (
            "good-1",
            serde_json::to_string(request).expect("routing request JSON"),
        ),
    ]);
    let answer = through_router_entry(&app.backend, event).await;
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "poison-1"}]})
    );
    assert_eq!(
        integration_tests::agents::offered_to(&app, &cid)
            .await
            .as_deref(),
        Some("ag-1"),
        "the good message of the batch was routed"
    );
}

#[tokio::test]
async fn the_routers_lambda_entry_ends_an_idle_session_from_a_recorded_sqs_event() {
    let app = TestApp::start().await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"messaging": {"idle_timeout_minutes": 1}}),
    )
    .await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    assert_eq!(
        app.send_text(&cid, &alice, "m1", "hello").await.status,
        StatusCode::CREATED
    );
    let message = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .find(|m| m.client_message_id == "m1")
        .expect("stored");
    // The check as the fan-out queued it, back after its minute (dated a minute ago).
    let mut check = domain::idle_sessions::IdleCheck::after(&message).expect("an end user's");
    check.message_at -= 61_000;
    let event = sqs_event(&[(
        "idle-1",
        serde_json::to_string(&check).expect("idle check JSON"),
    )]);
    let answer = through_router_entry(&app.backend, event).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        domain::model::SessionState::Ended
    );
}

#[tokio::test]
async fn the_validators_lambda_entry_decides_an_upload_from_a_recorded_s3_notification() {
    let app = TestApp::start().await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    let admitted = app
        .post(
            &format!("/v1/conversations/{cid}/attachments"),
            &alice,
            json!({"file_name": "notes.txt", "content_type": "text/plain", "size": 11}),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
    let aid = admitted.body["attachment_id"]
        .as_str()
        .expect("attachment id")
        .to_string();
    let uploaded = app
        .upload(
            &admitted.body["upload"],
            "notes.txt",
            b"hello world".to_vec(),
        )
        .await;
    assert!(uploaded.is_success(), "{uploaded}");

    // What S3 puts in the SQS message body: its event notification, key URL-encoded.
    let key = domain::attachments::object_key(&app.account.id, &cid, &aid);
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let notification = json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-22T03:30:00.123Z",
        "eventName": "ObjectCreated:Post",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "attachment-uploaded",
            "bucket": {"name": "relay-attachments", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::relay-attachments"},
            "object": {"key": encoded, "size": 11, "eTag": "5eb63bbbe01eeed093cb22bb8f5acdc3", "sequencer": "0055AED6DCD90281E5"}
        }
    }]});
    let event = sqs_event(&[("s3-1", notification.to_string())]);
    let answer = through_sqs_entry(
        &app.backend,
        |backend: Backend, batch: Vec<ReceivedMessage>| async move {
            validate_attachment::handle_events(&backend, &batch).await
        },
        event,
    )
    .await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let status = app
        .get(
            &format!("/v1/conversations/{cid}/attachments/{aid}"),
            &alice,
        )
        .await;
    assert_eq!(status.body["status"], "clean", "{:?}", status.body);
}
