//! Real time over WebSocket (R27) with real clients, the fan-out driven by the emulator's
//! DynamoDB stream: who receives which frame, and who receives nothing.

use std::time::Duration;

use domain::model::{Priority, Role};
use integration_tests::agents::{accept, agent, offered_to, waiting};
use integration_tests::live::{LiveClient, Received};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

/// Long enough for a write to reach the stream, the fan-out and the socket on a busy machine.
const ARRIVES: Duration = Duration::from_secs(10);
/// How long a socket is read to show that nothing arrives.
const QUIET: Duration = Duration::from_millis(1500);

/// A conversation of `user` assigned to agent `agent_id` (online, capacity 2).
async fn assigned(app: &TestApp, user: &str, agent_id: &str) -> String {
    agent(app, agent_id, 2, &[], "online").await;
    let cid = waiting(app, user, Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(app, &cid).await.as_deref(), Some(agent_id));
    let accepted = accept(app, agent_id, &cid).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    cid
}

fn types(frames: &[Value]) -> Vec<&str> {
    frames.iter().filter_map(|f| f["type"].as_str()).collect()
}

async fn post(app: &TestApp, cid: &str, token: &str, body: Value) {
    let reply = app
        .post(&format!("/v1/conversations/{cid}/messages"), token, body)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn end_user_and_assignee_hear_each_other_and_notes_stay_with_staff() {
    let app = TestApp::start_live().await;
    let cid = assigned(&app, "eu-1", "ag-1").await;
    let (user_token, agent_token) = (
        app.token(Role::EndUser, "eu-1"),
        app.token(Role::Agent, "ag-1"),
    );
    let mut user = app.connect(&user_token).await;
    let mut staff = app.connect(&agent_token).await;

    post(
        &app,
        &cid,
        &agent_token,
        json!({"client_message_id": "a1", "type": "text", "text": "How can I help?"}),
    )
    .await;
    let reply = user.expect("message.created", ARRIVES).await;
    assert_eq!(reply["data"]["conversation_id"], cid.as_str());
    assert_eq!(reply["data"]["message"]["text"], "How can I help?");
    assert_eq!(reply["data"]["message"]["author"]["role"], "agent");

    post(
        &app,
        &cid,
        &user_token,
        json!({"client_message_id": "u1", "type": "text", "text": "My order is late"}),
    )
    .await;
    let asked = loop {
        let frame = staff.expect("message.created", ARRIVES).await;
        if frame["data"]["message"]["text"] == "My order is late" {
            break frame;
        }
    };
    assert_eq!(asked["data"]["message"]["author"]["id"], "eu-1");

    post(
        &app,
        &cid,
        &agent_token,
        json!({"client_message_id": "n1", "type": "internal_note", "text": "VIP customer"}),
    )
    .await;
    let note = loop {
        let frame = staff.expect("message.created", ARRIVES).await;
        if frame["data"]["message"]["type"] == "internal_note" {
            break frame;
        }
    };
    assert_eq!(note["data"]["message"]["text"], "VIP customer");
    // The end user got the end user's own message echoed, and never the note.
    let heard = user.frames_for(QUIET).await;
    assert!(
        heard
            .iter()
            .all(|f| f["data"]["message"]["type"] != "internal_note"),
        "{heard:#?}"
    );

    // The end user reads up to the agent's reply: the agent sees it.
    let read = app
        .post(
            &format!("/v1/conversations/{cid}/events"),
            &user_token,
            json!({"type": "read", "seq": 1}),
        )
        .await;
    assert!(read.status.is_success(), "{:?}", read.body);
    let seen = staff.expect("read", ARRIVES).await;
    assert_eq!(seen["data"]["author_id"], "eu-1");
    assert_eq!(seen["data"]["seq"], 1);

    // Typing goes to the other party without being stored.
    user.send(json!({"action": "typing", "conversation_id": cid, "state": "start"}))
        .await;
    let typing = staff.expect("typing", ARRIVES).await;
    assert_eq!(typing["data"]["author_id"], "eu-1");
    assert_eq!(typing["data"]["state"], "start");
    user.send(json!({"action": "ping"})).await;
    user.expect("pong", ARRIVES).await;
}

#[tokio::test]
async fn handoff_and_end_of_session_reach_the_end_user_as_conversation_updates() {
    let app = TestApp::start_live().await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let user_token = app.token(Role::EndUser, "eu-1");
    let cid = app.new_conversation("eu-1").await;
    let mut user = app.connect(&user_token).await;
    let handoff = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &user_token,
            json!({}),
        )
        .await;
    assert_eq!(handoff.status, StatusCode::ACCEPTED);
    let updated = user.expect("conversation.updated", ARRIVES).await;
    assert_eq!(updated["data"]["conversation"]["id"], cid.as_str());
    assert_eq!(updated["data"]["conversation"]["control"], "agent");

    app.run_router().await;
    let accepted = accept(&app, "ag-1", &cid).await;
    assert_eq!(accepted.status, StatusCode::OK);
    let assigned = user.expect("conversation.updated", ARRIVES).await;
    assert_eq!(assigned["data"]["conversation"]["assignee"], "ag-1");

    let ended = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, "ag-1"),
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    let frames = user.frames_for(Duration::from_secs(3)).await;
    assert!(
        frames
            .iter()
            .any(|f| f["data"]["conversation"]["session"] == "ended"),
        "{frames:#?}"
    );
    assert!(
        frames.iter().any(|f| f["type"] == "message.created"
            && f["data"]["message"]["author"]["role"] == "system"),
        "the end-of-session notice is pushed too: {frames:#?}"
    );
}

#[tokio::test]
async fn an_offer_reaches_the_offered_agent_only_and_its_withdrawal_follows_going_offline() {
    let app = TestApp::start_live().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    agent(&app, "ag-2", 0, &[], "online").await;
    let mut offered = app.connect(&app.token(Role::Agent, "ag-1")).await;
    let mut other = app.connect(&app.token(Role::Agent, "ag-2")).await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    let offer = offered.expect("offer.created", ARRIVES).await;
    assert_eq!(offer["data"]["conversation_id"], cid.as_str());
    assert!(offer["data"]["expires_at"].is_string());

    let status = app
        .put(
            "/v1/agents/me/status",
            &app.token(Role::Agent, "ag-1"),
            json!({"status": "offline"}),
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    let withdrawn = offered.expect("offer.withdrawn", ARRIVES).await;
    assert_eq!(withdrawn["data"]["conversation_id"], cid.as_str());
    let heard = other.frames_for(QUIET).await;
    assert!(
        types(&heard).iter().all(|t| !t.starts_with("offer")),
        "{heard:#?}"
    );
}

#[tokio::test]
async fn other_accounts_other_end_users_and_unsubscribed_agents_receive_nothing() {
    let app = TestApp::start_live().await;
    let cid = assigned(&app, "eu-1", "ag-1").await;
    let mut stranger = app.connect(&app.token(Role::EndUser, "eu-2")).await;
    let mut bystander = app.connect(&app.token(Role::Agent, "ag-9")).await;
    let mut foreign = app
        .connect(&app.other_account.token(Role::Agent, "ag-1"))
        .await;
    let mut subscriber = app.connect(&app.token(Role::Agent, "ag-8")).await;
    subscriber
        .send(json!({"action": "subscribe", "conversation_id": cid}))
        .await;
    // A subscription to a foreign conversation is refused.
    let mut foreign_subscriber = app
        .connect(&app.other_account.token(Role::Admin, "ad-1"))
        .await;
    foreign_subscriber
        .send(json!({"action": "subscribe", "conversation_id": cid}))
        .await;
    let refused = foreign_subscriber.expect("error", ARRIVES).await;
    assert_eq!(refused["data"]["status"], 404);
    subscriber.round_trip().await;

    post(
        &app,
        &cid,
        &app.token(Role::EndUser, "eu-1"),
        json!({"client_message_id": "u1", "type": "text", "text": "secret order 42"}),
    )
    .await;
    let seen = subscriber.expect("message.created", ARRIVES).await;
    assert_eq!(seen["data"]["message"]["text"], "secret order 42");
    for (who, client) in [
        ("another end user", &mut stranger),
        ("an unsubscribed agent", &mut bystander),
        ("another account's agent", &mut foreign),
        ("another account's admin", &mut foreign_subscriber),
    ] {
        let heard = client.frames_for(QUIET).await;
        assert!(heard.is_empty(), "{who} received {heard:#?}");
    }

    // After unsubscribing, the subscriber hears nothing more.
    subscriber
        .send(json!({"action": "unsubscribe", "conversation_id": cid}))
        .await;
    subscriber.round_trip().await;
    post(
        &app,
        &cid,
        &app.token(Role::EndUser, "eu-1"),
        json!({"client_message_id": "u2", "type": "text", "text": "still there?"}),
    )
    .await;
    let heard = subscriber.frames_for(QUIET).await;
    assert!(heard.is_empty(), "{heard:#?}");
}

#[tokio::test]
async fn bad_tokens_are_refused_before_the_upgrade() {
    let app = TestApp::start_live().await;
    for token in [
        "",
        "not-a-jwt",
        &format!("{}x", app.token(Role::EndUser, "eu-1")),
    ] {
        match app.try_connect(token).await {
            Err(status) => assert_eq!(status, 401, "{token:?}"),
            Ok(_) => panic!("{token:?} was not refused"),
        }
    }
}

#[tokio::test]
async fn bad_frames_get_an_error_frame_or_a_close_and_the_server_keeps_serving() {
    let app = TestApp::start_live().await;
    let token = app.token(Role::Agent, "ag-1");
    let mut client = app.connect(&token).await;
    for bad in [
        "not json".to_string(),
        json!({"action": "dance"}).to_string(),
        json!({"action": "ping", "extra": true}).to_string(),
        json!({"action": "subscribe", "conversation_id": "c_missing"}).to_string(),
    ] {
        client.send_text(bad.clone()).await;
        let error = client.expect("error", ARRIVES).await;
        assert!(
            matches!(error["data"]["status"].as_u64(), Some(400 | 404)),
            "{bad}: {error}"
        );
        assert!(error["data"]["code"].is_string());
    }
    // End users cannot subscribe.
    let mut user = app.connect(&app.token(Role::EndUser, "eu-1")).await;
    let cid = app.new_conversation("eu-1").await;
    user.send(json!({"action": "subscribe", "conversation_id": cid}))
        .await;
    assert_eq!(user.expect("error", ARRIVES).await["data"]["status"], 403);

    // A 1 MB frame closes the connection (1009, too big), and nothing else.
    client.send_text("x".repeat(1 << 20)).await;
    let closed = loop {
        match client.receive(ARRIVES).await {
            Some(Received::Closed(code)) => break code,
            Some(Received::Frame(_)) => continue,
            None => panic!("a 1 MB frame did not close the connection"),
        }
    };
    assert_eq!(closed, Some(1009));
    let mut again: LiveClient = app.connect(&token).await;
    again.send(json!({"action": "ping"})).await;
    again.expect("pong", ARRIVES).await;
}
