//! Conversations through HTTP on the emulator: create, list, get, persistence (R12), tenancy.

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn new_conversation_starts_under_bot_as_a_new_messaging_ticket() {
    let app = TestApp::start().await;
    let reply = app
        .post(
            "/v1/conversations",
            &app.token(Role::EndUser, "alice"),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let c = &reply.body;
    assert!(c["id"].as_str().unwrap().starts_with("c_"));
    assert_eq!(c["channel"], "messaging");
    assert_eq!(c["control"], "bot");
    assert_eq!(c["session"], "active");
    assert_eq!(c["ticket_status"], "new");
    assert_eq!(c["assignee"], serde_json::Value::Null);
    assert_eq!(c["tags"], json!(["via_messaging"]));
    assert!(c["ticket_id"].as_str().unwrap().starts_with("t_"));
    // R8: the bot answers first, so nothing is routed.
    assert!(app.routing_requests().await.is_empty());
}

#[tokio::test]
async fn with_the_bot_off_a_new_conversation_goes_straight_to_routing() {
    let app = TestApp::start().await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    let token = app.token(Role::EndUser, "alice");
    let reply = app.post("/v1/conversations", &token, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["control"], "agent");
    let cid = reply.body["id"].as_str().unwrap().to_string();
    let sent = app.send_text(&cid, &token, "m-1", "hello?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let requests = app.routing_requests().await;
    assert!(
        requests
            .iter()
            .any(|r| r.conversation_id.as_deref() == Some(cid.as_str())),
        "no routing request for {cid}: {requests:?}"
    );
}

#[tokio::test]
async fn user_lists_own_conversations_newest_first() {
    let app = TestApp::start().await;
    let first = app.new_conversation("alice").await;
    let second = app.new_conversation("alice").await;
    let _bobs = app.new_conversation("bob").await;
    let expected = vec![second.clone(), first.clone()];
    // The list is read from an index: on DynamoDB a conversation created a moment ago may
    // show up a moment later, so read it again as a client would.
    let ids = use_cases::contract::eventually(
        || async {
            let reply = app
                .get("/v1/conversations", &app.token(Role::EndUser, "alice"))
                .await;
            assert_eq!(reply.status, StatusCode::OK);
            reply.body["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
                .collect::<Vec<String>>()
        },
        |ids| *ids == expected,
    )
    .await;
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn conversation_and_history_survive_a_gateway_restart() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    assert_eq!(
        app.send_text(&cid, &alice, "m1", "before restart")
            .await
            .status,
        StatusCode::CREATED
    );

    // A second gateway on the same tables: what the user sees after leaving and coming back.
    let restarted = TestApp::start_with(app.backend.clone(), app.routing_queue.clone()).await;
    let reply = restarted
        .get(&format!("/v1/conversations/{cid}/messages"), &alice)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["messages"][0]["text"], "before restart");
    let reply = restarted
        .get(&format!("/v1/conversations/{cid}"), &alice)
        .await;
    assert_eq!(reply.body["id"], cid.as_str());
}

#[tokio::test]
async fn another_users_conversation_is_not_found() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let mallory = app.token(Role::EndUser, "mallory");
    for path in [
        format!("/v1/conversations/{cid}"),
        format!("/v1/conversations/{cid}/messages"),
    ] {
        let reply = app.get(&path, &mallory).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.error_code(), "not_found");
    }
    let reply = app.send_text(&cid, &mallory, "x1", "let me in").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &mallory,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(app.stored_messages(&cid).await.is_empty());
    assert_eq!(
        app.stored_conversation(&cid).await.control,
        domain::model::Control::Bot
    );
}

#[tokio::test]
async fn another_accounts_staff_cannot_see_the_conversation() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let foreign_admin = app.other_account.token(Role::Admin, "alice");
    let reply = app
        .get(&format!("/v1/conversations/{cid}"), &foreign_admin)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = app.send_text(&cid, &foreign_admin, "x1", "hi").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(app.stored_messages(&cid).await.is_empty());
    // Even the same user id under the other account sees nothing of this one.
    let foreign_alice = app.other_account.token(Role::EndUser, "alice");
    let reply = app.get("/v1/conversations", &foreign_alice).await;
    assert_eq!(reply.body["conversations"], json!([]));
}

#[tokio::test]
async fn agents_of_the_account_can_read_any_conversation() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let agent = app.token(Role::Agent, "agent-1");
    let reply = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["id"], cid.as_str());
}

#[tokio::test]
async fn staff_cannot_start_conversations_as_end_users() {
    let app = TestApp::start().await;
    let reply = app
        .post(
            "/v1/conversations",
            &app.token(Role::Agent, "agent-1"),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "forbidden");
    let reply = app
        .get("/v1/conversations", &app.token(Role::Agent, "agent-1"))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn malformed_conversation_ids_are_not_found() {
    let app = TestApp::start().await;
    let alice = app.token(Role::EndUser, "alice");
    for cid in [
        "nope",
        "c_123",
        "c_%2E%2E%2Fetc",
        "C_00000000000000000000000000000000",
    ] {
        let reply = app.get(&format!("/v1/conversations/{cid}"), &alice).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{cid}");
    }
}

#[tokio::test]
async fn every_response_names_its_request_in_x_request_id() {
    let app = TestApp::start().await;
    let client = reqwest::Client::new();
    let mut ids = std::collections::HashSet::new();
    let requests = [
        // A success, a client error (no token) and an unknown route of a served prefix.
        client
            .post(format!("{}/v1/conversations", app.base_url))
            .bearer_auth(app.token(Role::EndUser, "alice"))
            .body("{}"),
        client.get(format!("{}/v1/conversations", app.base_url)),
        client
            .get(format!(
                "{}/v1/conversations/c_x/nothing-here",
                app.base_url
            ))
            .bearer_auth(app.token(Role::EndUser, "alice")),
    ];
    for request in requests {
        let response = request.send().await.expect("gateway reachable");
        let status = response.status();
        let id = response
            .headers()
            .get(edge::api::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{status}: no x-request-id"))
            .to_string();
        let hex = id.strip_prefix("req_").unwrap_or_default();
        assert!(
            hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{status}: {id}"
        );
        assert!(ids.insert(id), "request ids are unique");
    }
}
