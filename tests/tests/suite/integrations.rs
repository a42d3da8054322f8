//! Integration keys and the bot API (#17 items 1 and 2, spec "Integrations", R28), on the
//! emulator: admins create, list and revoke keys; a `bot` key posts and hands off while the
//! bot holds a conversation; scopes, revocation and accounts are enforced at once.

use std::time::Duration;

use domain::model::Role;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn create_key(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let reply = app
        .post(
            "/v1/integrations",
            &app.token(Role::Admin, "admin-1"),
            json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    (
        reply.body["id"].as_str().unwrap().to_string(),
        reply.body["key"].as_str().unwrap().to_string(),
    )
}

async fn bot_post(app: &TestApp, key: &str, cid: &str, client_id: &str, body: Value) -> Reply {
    let mut body = body;
    body["client_message_id"] = json!(client_id);
    app.post(&format!("/v1/conversations/{cid}/messages"), key, body)
        .await
}

async fn messages(app: &TestApp, cid: &str, token: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/conversations/{cid}/messages"), token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["messages"].as_array().unwrap().clone()
}

fn cards() -> Value {
    json!({"type": "rich", "rich": {
        "layout": "carousel",
        "text": "Our plans",
        "items": [{"title": "Basic", "description": "5 seats"}, {"title": "Pro"}],
        "buttons": [{"label": "Pricing", "url": "https://example.com/pricing"}]
    }})
}

#[tokio::test]
async fn a_bot_key_posts_rich_content_that_agents_read_as_text_and_hands_off() {
    let app = TestApp::start().await;
    let (integration_id, key) = create_key(&app, "Answer bot", &["bot"]).await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    app.send_text(&cid, &alice, "m1", "what plans do you have?")
        .await;

    // The bot reads what it answers.
    let read = messages(&app, &cid, &key).await;
    assert_eq!(read[0]["text"], "what plans do you have?");
    let reply = bot_post(&app, &key, &cid, "b1", cards()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["message"]["author"]["role"], "bot");
    assert_eq!(reply.body["message"]["author"]["id"], integration_id);
    // A retry is the same message (R14).
    let again = bot_post(&app, &key, &cid, "b1", cards()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["message"]["seq"], reply.body["message"]["seq"]);

    let as_end_user = messages(&app, &cid, &alice).await;
    let seen = as_end_user
        .iter()
        .find(|m| m["author"]["role"] == "bot")
        .unwrap();
    assert_eq!(seen["rich"]["items"][1]["title"], "Pro");
    let as_agent = messages(&app, &cid, &app.token(Role::Agent, "ag-1")).await;
    let seen = as_agent
        .iter()
        .find(|m| m["author"]["role"] == "bot")
        .unwrap();
    assert!(seen.get("rich").is_none(), "{seen}");
    assert!(seen["text"].as_str().unwrap().contains("1. Basic: 5 seats"));

    // Internal notes and attachments are not the bot's to post.
    let note = bot_post(
        &app,
        &key,
        &cid,
        "b2",
        json!({"type": "internal_note", "text": "x"}),
    )
    .await;
    assert_eq!(note.status, StatusCode::FORBIDDEN, "{:?}", note.body);

    let handoff = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &key,
            json!({"reason": "asked for sales"}),
        )
        .await;
    assert_eq!(handoff.status, StatusCode::ACCEPTED, "{:?}", handoff.body);
    assert_eq!(handoff.body["control"], "agent");
    assert_eq!(
        app.stored_conversation(&cid)
            .await
            .handoff_reason
            .as_deref(),
        Some("asked for sales")
    );
    // Agents hold it now: the bot may neither speak nor hand off again.
    let late = bot_post(
        &app,
        &key,
        &cid,
        "b3",
        json!({"type": "text", "text": "still here"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.error_code(), "not_under_bot_control");
    let twice = app
        .post(&format!("/v1/conversations/{cid}/handoff"), &key, json!({}))
        .await;
    assert_eq!(twice.error_code(), "not_under_bot_control");
    let bot_messages = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .filter(|m| m.author_id == integration_id)
        .count();
    assert_eq!(bot_messages, 1);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_listing_never_shows_a_key() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let (integration_id, key) = create_key(&app, "Answer bot", &["bot", "webhooks"]).await;
    let cid = app.new_conversation("alice").await;
    let reply = app.get(&format!("/v1/conversations/{cid}"), &key).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    let listed = app.get("/v1/integrations", &admin).await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body["integrations"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], integration_id);
    assert_eq!(items[0]["scopes"], json!(["bot", "webhooks"]));
    assert!(
        items[0]["last_used_at"].is_string(),
        "the use was written down: {items:?}"
    );
    let text = listed.body.to_string();
    let secret = key.rsplit('.').next().unwrap();
    assert!(
        !text.contains(secret) && !text.contains("key_hash"),
        "{text}"
    );

    let revoked = app
        .send_raw(
            Method::DELETE,
            &format!("/v1/integrations/{integration_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = app.get(&format!("/v1/conversations/{cid}"), &key).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
    let again = app
        .send_raw(
            Method::DELETE,
            &format!("/v1/integrations/{integration_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(
        app.get("/v1/integrations", &admin).await.body["integrations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn scopes_roles_and_accounts_bound_what_a_key_reaches() {
    let app = TestApp::start().await;
    let (_, webhooks_only) = create_key(&app, "Zapier", &["webhooks"]).await;
    let (_, bot) = create_key(&app, "Bot", &["bot"]).await;
    let cid = app.new_conversation("alice").await;
    // A webhooks key cannot post or read conversations.
    let reply = bot_post(
        &app,
        &webhooks_only,
        &cid,
        "w1",
        json!({"type": "text", "text": "hi"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.error_code(), "insufficient_scope");
    // A bot key reaches no staff, admin or end-user route.
    for path in [
        "/v1/inbox",
        "/v1/settings",
        "/v1/integrations",
        "/v1/conversations",
        "/v1/agents/me",
    ] {
        let reply = app.get(path, &bot).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path}: {:?}",
            reply.body
        );
        assert_eq!(reply.error_code(), "insufficient_scope", "{path}");
    }
    // Only admins manage keys.
    let agent = app
        .post(
            "/v1/integrations",
            &app.token(Role::Agent, "ag-1"),
            json!({"name": "x", "scopes": ["bot"]}),
        )
        .await;
    assert_eq!(agent.status, StatusCode::FORBIDDEN);
    for bad in [
        json!({"name": "", "scopes": ["bot"]}),
        json!({"name": "x", "scopes": []}),
    ] {
        let reply = app
            .post("/v1/integrations", &app.token(Role::Admin, "a"), bad)
            .await;
        assert_eq!(reply.error_code(), "invalid_field", "{:?}", reply.body);
    }
    let unknown_scope = app
        .post(
            "/v1/integrations",
            &app.token(Role::Admin, "a"),
            json!({"name": "x", "scopes": ["admin"]}),
        )
        .await;
    assert_eq!(unknown_scope.status, StatusCode::BAD_REQUEST);

    // Another account's conversation does not exist for this key (R28).
    let other = TestApp::start().await;
    let foreign = other.new_conversation("mallory").await;
    let reply = bot_post(
        &app,
        &bot,
        &foreign,
        "f1",
        json!({"type": "text", "text": "hi"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{:?}", reply.body);
    assert!(other.stored_messages(&foreign).await.is_empty());
    // A key re-addressed to another account, or with a forged secret, opens nothing.
    let forged = bot.replacen(&app.account.id, &other.account.id, 1);
    let reply = other
        .get(&format!("/v1/conversations/{foreign}"), &forged)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let mut wrong_secret = bot.clone();
    wrong_secret.pop();
    wrong_secret.push(if bot.ends_with('0') { '1' } else { '0' });
    let reply = app
        .get(&format!("/v1/conversations/{cid}"), &wrong_secret)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // A company token cannot claim to be an integration.
    let claims_integration = use_cases::auth::sign_parts(
        &json!({"alg": "HS256", "kid": app.account.kid}),
        &json!({"acct": app.account.id, "sub": "x", "role": "integration", "exp": domain::now_ms() / 1000 + 60}),
        &app.account.secret,
    );
    let reply = app
        .get(&format!("/v1/conversations/{cid}"), &claims_integration)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_built_in_bot_steps_aside_for_a_connected_bot() {
    let app = TestApp::start_live().await;
    create_key(&app, "Our own bot", &["bot"]).await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    app.send_text(&cid, &alice, "m1", "hello?").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = messages(&app, &cid, &alice).await;
    assert_eq!(seen.len(), 1, "no greeting from the built-in bot: {seen:?}");
    // Disconnected, the built-in bot answers again (so the silence above was its choice).
    let listed = app
        .get("/v1/integrations", &app.token(Role::Admin, "a"))
        .await;
    let id = listed.body["integrations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.send_raw(
        Method::DELETE,
        &format!("/v1/integrations/{id}"),
        Some(&app.token(Role::Admin, "a")),
        None,
    )
    .await;
    let bob = app.token(Role::EndUser, "bob");
    let cid = app.new_conversation("bob").await;
    app.send_text(&cid, &bob, "m1", "hello?").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = messages(&app, &cid, &bob).await;
        if seen.iter().any(|m| m["author"]["role"] == "bot") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no greeting: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
