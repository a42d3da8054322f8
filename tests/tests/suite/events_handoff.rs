//! Typing/read/delivered events and bot handoff through HTTP on the emulator.

use domain::model::{Control, MessageKind, Role};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn typing_indicator_shows_for_the_other_side_until_stopped() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "agent-1");
    let events = format!("/v1/conversations/{cid}/events");
    let reply = app
        .post(&events, &alice, json!({"type": "typing_start"}))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let view = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
    assert_eq!(view.body["participants"]["end_user"]["typing"], true);
    assert_eq!(view.body["participants"]["agents"]["typing"], false);
    app.post(&events, &alice, json!({"type": "typing_stop"}))
        .await;
    let view = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
    assert_eq!(view.body["participants"]["end_user"]["typing"], false);
}

#[tokio::test]
async fn read_and_delivered_cursors_only_move_forward() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "agent-1");
    for i in 1..=3 {
        app.send_text(&cid, &agent, &format!("a{i}"), "hello").await;
    }
    let events = format!("/v1/conversations/{cid}/events");
    assert_eq!(
        app.post(&events, &alice, json!({"type": "delivered", "seq": 3}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.post(&events, &alice, json!({"type": "read", "seq": 2}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    // A late, older read receipt does not move the cursor back.
    app.post(&events, &alice, json!({"type": "read", "seq": 1}))
        .await;
    let view = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
    assert_eq!(view.body["participants"]["end_user"]["read_seq"], 2);
    assert_eq!(view.body["participants"]["end_user"]["delivered_seq"], 3);
}

#[tokio::test]
async fn bad_events_are_refused_without_changes() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let events = format!("/v1/conversations/{cid}/events");
    let beyond = app
        .post(&events, &alice, json!({"type": "read", "seq": 5}))
        .await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app.post(&events, &alice, json!({"type": "read"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_code(), "invalid_request");
    let unknown = app.post(&events, &alice, json!({"type": "dance"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let extra = app
        .post(&events, &alice, json!({"type": "typing_start", "who": "x"}))
        .await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.stored_conversation(&cid).await.revision, 0);
}

#[tokio::test]
async fn handoff_gives_control_to_agents_and_requests_routing() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    app.send_text(&cid, &alice, "u1", "I want a human").await;
    // The bot's answer, stored as a bot integration will post it (#17 adds the route).
    let mut bot =
        use_cases::contract::message(&app.stored_conversation(&cid).await, "bot-1", "b1", "");
    bot.author_role = domain::model::AuthorRole::Bot;
    bot.kind = MessageKind::Rich;
    bot.text = Some("Try these: [Track order]".into());
    bot.rich = Some(json!({"layout": "buttons", "items": []}));
    app.backend.store.append_message(&bot).await.unwrap();
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &alice,
            json!({"reason": "asked for an agent"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    assert_eq!(reply.body["control"], "agent");
    let stored = app.stored_conversation(&cid).await;
    assert_eq!(stored.control, Control::Agent);
    assert_eq!(stored.handoff_reason.as_deref(), Some("asked for an agent"));
    let requests = app.routing_requests().await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].conversation_id.as_deref(), Some(cid.as_str()));
    assert_eq!(requests[0].account_id, app.account.id);
    assert_eq!(requests[0].reason, "handoff");
    // R16: agents see the bot's part of the conversation after handoff.
    let history = app
        .get(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::Agent, "agent-1"),
        )
        .await;
    let messages = history.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["text"], "I want a human");
    // The bot's part, as agents see it (R15: its text rendering, no rich content).
    assert_eq!(messages[1]["author"]["role"], "bot");
    assert_eq!(messages[1]["text"], "Try these: [Track order]");
    assert!(messages[1].get("rich").is_none(), "{:?}", messages[1]);
}

#[tokio::test]
async fn repeated_handoff_is_harmless_and_routing_is_asked_again_while_waiting() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let path = format!("/v1/conversations/{cid}/handoff");
    assert_eq!(
        app.post(&path, &alice, json!({})).await.status,
        StatusCode::ACCEPTED
    );
    let revision = app.stored_conversation(&cid).await.revision;
    assert_eq!(
        app.post(&path, &alice, json!({})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.stored_conversation(&cid).await.revision, revision);
    let requests = app.routing_requests().await;
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| r.conversation_id.as_deref() == Some(cid.as_str())));
}

#[tokio::test]
async fn overlong_handoff_reason_is_refused() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &app.token(Role::EndUser, "alice"),
            json!({"reason": "x".repeat(501)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.stored_conversation(&cid).await.control, Control::Bot);
    assert!(app.routing_requests().await.is_empty());
}
