//! AWS's limits are the product's (R32, #32 items 2 and 3), on the emulator: moto accepts
//! what SQS and API Gateway refuse, so the adapters refuse it themselves (the in-memory ones
//! too) and the product keeps inside the limits: text with characters SQS cannot carry still
//! reaches a webhook receiver intact; rich content that could only break a frame or a queue
//! body is refused at ingest (422) with nothing stored.

use std::time::{Duration, Instant};

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

use super::webhooks::{subscribe, Answer, Receiver};

/// On the main of #32 the webhook job carried U+FFFF raw: SQS refuses such a body, so on AWS
/// the change failed every time (moto took it). Now the job's body is escaped, SQS-valid, and
/// the receiver gets the text as written.
#[tokio::test]
async fn text_sqs_cannot_carry_reaches_a_webhook_receiver_intact() {
    let app = TestApp::start_live().await;
    let receiver = Receiver::start(vec![], Answer::Status(204)).await;
    subscribe(&app, &receiver.url(), &["message.created"]).await;
    let cid = app.new_conversation("eu-odd").await;
    let text = "odd \u{ffff} and \u{fffe} characters";
    let sent = app
        .send_text(&cid, &app.token(Role::EndUser, "eu-odd"), "odd-1", text)
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivered = loop {
        let found = receiver
            .received()
            .into_iter()
            .find(|r| r.json()["data"]["message"]["client_message_id"] == "odd-1");
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "the event never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(delivered.json()["data"]["message"]["text"], text);
    // The stored message is as written too.
    let stored = app.stored_messages(&cid).await;
    assert!(stored.iter().any(|m| m.text.as_deref() == Some(text)));
}

/// A rich message whose button payload is 150 KB would make a frame API Gateway refuses: 422
/// `invalid_message`, nothing stored. (On the main of #32: 201.) Positive control: the same
/// message with a 1,000-character payload is stored.
#[tokio::test]
async fn rich_content_that_could_only_break_a_frame_is_refused_at_ingest() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let created = app
        .post(
            "/v1/integrations",
            &admin,
            json!({"name": "Bot", "scopes": ["bot"]}),
        )
        .await;
    let key = created.body["key"].as_str().expect("key").to_string();
    let cid = app.new_conversation("eu-rich").await;
    let rich = |id: &str, payload: String| {
        json!({"client_message_id": id, "type": "rich", "rich": {
            "layout": "buttons", "text": "Pick one",
            "buttons": [{"label": "This one", "payload": payload}]}})
    };
    let path = format!("/v1/conversations/{cid}/messages");
    let huge = app
        .post(&path, &key, rich("r-huge", "x".repeat(150_000)))
        .await;
    assert_eq!(
        huge.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        huge.body
    );
    assert_eq!(huge.error_code(), "invalid_message");
    // Many parts each within bounds but too much together: refused as well.
    let many = json!({"client_message_id": "r-many", "type": "rich", "rich": {
        "layout": "carousel",
        "items": (0..40).map(|i| json!({"title": format!("item {i}"), "description": "d".repeat(1_900),
            "buttons": [{"label": "go", "payload": "p".repeat(900)}]})).collect::<Vec<_>>()}});
    let too_much = app.post(&path, &key, many).await;
    assert_eq!(
        too_much.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        too_much.body
    );
    assert!(app.stored_messages(&cid).await.is_empty(), "nothing stored");
    let fine = app
        .post(&path, &key, rich("r-fine", "y".repeat(1_000)))
        .await;
    assert_eq!(fine.status, StatusCode::CREATED, "{:?}", fine.body);
}
