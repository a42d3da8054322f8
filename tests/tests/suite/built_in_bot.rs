//! The built-in bot (#17 item 3, spec "Integrations"): with `bot.enabled` and no bot
//! integration, the first end-user message of a session under bot control is answered with
//! `bot.greeting` and a "talk to an agent" button, once per session; driven by the change
//! stream (the fan-out), on the emulator.

use std::time::Duration;

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

/// The conversation's history as `token` reads it, once it holds `wanted` messages.
async fn history(app: &TestApp, cid: &str, token: &str, wanted: usize) -> Vec<Value> {
    app.messages_when(cid, token, wanted).await
}

fn from_bot(messages: &[Value]) -> Vec<&Value> {
    messages
        .iter()
        .filter(|m| m["author"]["role"] == "bot")
        .collect()
}

#[tokio::test]
async fn the_first_message_of_a_session_gets_the_greeting_and_a_handoff_button_once() {
    let app = TestApp::start_live().await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    assert_eq!(
        app.send_text(&cid, &alice, "m1", "hello?").await.status,
        StatusCode::CREATED
    );
    let messages = history(&app, &cid, &alice, 2).await;
    let greetings = from_bot(&messages);
    assert_eq!(greetings.len(), 1, "{messages:?}");
    let greeting = greetings[0];
    assert_eq!(greeting["seq"], 2, "after the end user's message");
    assert_eq!(greeting["type"], "rich");
    assert_eq!(
        greeting["rich"]["text"],
        domain::settings::DEFAULT_BOT_GREETING
    );
    assert_eq!(greeting["rich"]["buttons"][0]["payload"], "relay:handoff");
    // A second message in the same session gets no second greeting.
    assert_eq!(
        app.send_text(&cid, &alice, "m2", "anyone?").await.status,
        StatusCode::CREATED
    );
    let messages = history(&app, &cid, &alice, 4).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(from_bot(&messages).len(), 1);
    // Agents read it as text (R15).
    let staff = history(&app, &cid, &app.token(Role::Agent, "ag"), 3).await;
    let as_staff = from_bot(&staff)[0];
    assert!(as_staff.get("rich").is_none(), "{as_staff}");
    assert!(as_staff["text"]
        .as_str()
        .unwrap()
        .contains("Talk to an agent"));
    // Pressing the button hands off: agents hold it, and the bot says nothing more.
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(reply.body["control"], "agent", "{:?}", reply.body);
    assert_eq!(
        app.send_text(&cid, &alice, "m3", "thanks").await.status,
        StatusCode::CREATED
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(from_bot(&history(&app, &cid, &alice, 5).await).len(), 1);
}

#[tokio::test]
async fn the_greeting_follows_the_setting_and_a_disabled_bot_says_nothing() {
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "admin-1");
    let reply = app
        .patch_settings(
            &admin,
            json!({"bot": {"greeting": "Welcome to Acme! What can I do?"}}),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    let bob = app.token(Role::EndUser, "bob");
    let cid = app.new_conversation("bob").await;
    app.send_text(&cid, &bob, "m1", "hi").await;
    let messages = history(&app, &cid, &bob, 2).await;
    assert_eq!(
        from_bot(&messages)[0]["rich"]["text"],
        "Welcome to Acme! What can I do?"
    );
    // With the bot off, conversations start with agents and nothing automatic answers.
    app.patch_settings(&admin, json!({"bot": {"enabled": false}}))
        .await;
    let carol = app.token(Role::EndUser, "carol");
    let cid = app.new_conversation("carol").await;
    app.send_text(&cid, &carol, "m1", "hi").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = history(&app, &cid, &carol, 2).await;
    assert!(from_bot(&messages).is_empty(), "{messages:?}");
}
