//! Bad input through HTTP on the emulator: every case gets the contract's 4xx and stable code,
//! and nothing already stored changes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::model::Role;
use integration_tests::faults::without_idle_polls;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use use_cases::auth::{mint_token, sign_parts};

/// A conversation holding one message, and a check that it still holds exactly that.
pub(crate) struct Fixture {
    app: TestApp,
    cid: String,
    alice: String,
}

impl Fixture {
    async fn new() -> Fixture {
        let app = TestApp::start().await;
        let cid = app.new_conversation("alice").await;
        let alice = app.token(Role::EndUser, "alice");
        let reply = app.send_text(&cid, &alice, "orig", "original").await;
        assert_eq!(reply.status, StatusCode::CREATED);
        Fixture { app, cid, alice }
    }

    fn messages_path(&self) -> String {
        format!("/v1/conversations/{}/messages", self.cid)
    }

    async fn post_raw(&self, token: Option<&str>, body: &[u8]) -> Reply {
        self.app
            .send_raw(
                Method::POST,
                &self.messages_path(),
                token,
                Some(body.to_vec()),
            )
            .await
    }

    async fn assert_unchanged(&self) {
        let stored = self.app.stored_messages(&self.cid).await;
        assert_eq!(stored.len(), 1, "stored messages changed: {stored:?}");
        assert_eq!(stored[0].text.as_deref(), Some("original"));
        let conversation = self.app.stored_conversation(&self.cid).await;
        assert_eq!(conversation.revision, 0);
    }
}

pub(crate) fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.error_code(), code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn malformed_json_is_invalid_request() {
    let f = Fixture::new().await;
    for body in [
        &b"{"[..],
        b"not json",
        b"[1,2",
        b"{\"client_message_id\": }",
        b"\xff\xfe",
    ] {
        let reply = f.post_raw(Some(&f.alice), body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    f.assert_unchanged().await;
}

#[tokio::test]
async fn unknown_fields_and_mass_assignment_are_refused() {
    let f = Fixture::new().await;
    for extra in [
        json!({"client_message_id": "x1", "type": "text", "text": "hi", "colour": "red"}),
        json!({"client_message_id": "x2", "type": "text", "text": "hi", "seq": 1}),
        json!({"client_message_id": "x3", "type": "text", "text": "hi", "account_id": "other"}),
        json!({"client_message_id": "x4", "type": "text", "text": "hi", "author_role": "agent"}),
        json!({"client_message_id": "x5", "type": "text", "text": "hi", "account": "other"}),
        json!({"client_message_id": "x6", "type": "text", "text": "hi", "role": "admin"}),
        json!({"client_message_id": "x7", "type": "text", "text": "hi", "assignee": "agent-1"}),
    ] {
        let reply = f.app.post(&f.messages_path(), &f.alice, extra).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let reply = f
        .app
        .post(
            "/v1/conversations",
            &f.alice,
            json!({"assignee": "agent-1"}),
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    f.assert_unchanged().await;
}

#[tokio::test]
async fn missing_client_message_id_and_wrong_types_are_invalid_request() {
    let f = Fixture::new().await;
    for body in [
        json!({"type": "text", "text": "hi"}),
        json!({"client_message_id": 5, "type": "text", "text": "hi"}),
        json!({"client_message_id": "x", "type": "shout", "text": "hi"}),
        json!({"client_message_id": "x", "type": "text", "text": ["hi"]}),
        json!({"client_message_id": "", "type": "text", "text": "hi"}),
        json!({"client_message_id": "has space", "type": "text", "text": "hi"}),
        json!("just a string"),
    ] {
        let reply = f.app.post(&f.messages_path(), &f.alice, body.clone()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    f.assert_unchanged().await;
}

#[tokio::test]
async fn text_over_the_limit_is_message_too_long() {
    let f = Fixture::new().await;
    let long = "a".repeat(16_385);
    let reply = f.app.send_text(&f.cid, &f.alice, "long", &long).await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "message_too_long");
    let at_limit = "a".repeat(16_384);
    let reply = f.app.send_text(&f.cid, &f.alice, "limit", &at_limit).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(f.app.stored_messages(&f.cid).await.len(), 2);
}

#[tokio::test]
async fn empty_text_is_refused() {
    let f = Fixture::new().await;
    let reply = f.app.send_text(&f.cid, &f.alice, "blank", "   ").await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_message");
    f.assert_unchanged().await;
}

#[tokio::test]
async fn oversize_body_is_payload_too_large() {
    let f = Fixture::new().await;
    let huge = json!({"client_message_id": "big", "type": "text", "text": "a".repeat(300 * 1024)});
    let reply = f
        .post_raw(Some(&f.alice), huge.to_string().as_bytes())
        .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Even without a valid token: the size is checked first.
    let reply = f.post_raw(None, &vec![b' '; 257 * 1024]).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    f.assert_unchanged().await;
}

#[tokio::test]
async fn missing_expired_forged_and_alg_none_tokens_are_unauthorized() {
    let f = Fixture::new().await;
    let account = &f.app.account;
    let now = domain::now_ms() / 1000;
    let claims = json!({"acct": account.id, "sub": "alice", "role": "end_user", "exp": now + 600});
    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": account.kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "unauthorized"),
        ("garbage", Some("abc.def".into()), "unauthorized"),
        (
            "expired",
            Some(mint_token(
                &account.id,
                &account.kid,
                &account.secret,
                "alice",
                Role::EndUser,
                now - 7200,
                3600,
            )),
            "token_expired",
        ),
        (
            "forged",
            Some(mint_token(
                &account.id,
                &account.kid,
                "guessed-secret",
                "alice",
                Role::EndUser,
                now,
                3600,
            )),
            "unauthorized",
        ),
        ("alg none", Some(none_token), "unauthorized"),
        (
            "valid for a year",
            Some(mint_token(
                &account.id,
                &account.kid,
                &account.secret,
                "alice",
                Role::EndUser,
                now,
                365 * 24 * 3600,
            )),
            "unauthorized",
        ),
        (
            "not valid for another hour",
            Some(sign_parts(
                &json!({"alg": "HS256", "kid": account.kid}),
                &json!({"acct": account.id, "sub": "alice", "role": "end_user", "exp": now + 7200, "nbf": now + 3600}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "HS512 header",
            Some(sign_parts(
                &json!({"alg": "HS512", "kid": account.kid}),
                &claims,
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "unknown kid",
            Some(mint_token(
                &account.id,
                "k9",
                &account.secret,
                "alice",
                Role::EndUser,
                now,
                3600,
            )),
            "unauthorized",
        ),
        (
            "no exp",
            Some(sign_parts(
                &json!({"alg": "HS256", "kid": account.kid}),
                &json!({"acct": account.id, "sub": "alice", "role": "end_user"}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "no sub",
            Some(sign_parts(
                &json!({"alg": "HS256", "kid": account.kid}),
                &json!({"acct": account.id, "role": "end_user", "exp": now + 600}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "no acct",
            Some(sign_parts(
                &json!({"alg": "HS256", "kid": account.kid}),
                &json!({"sub": "alice", "role": "end_user", "exp": now + 600}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "no kid",
            Some(sign_parts(
                &json!({"alg": "HS256"}),
                &json!({"acct": account.id, "sub": "alice", "role": "end_user", "exp": now + 600}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            "unknown role",
            Some(sign_parts(
                &json!({"alg": "HS256", "kid": account.kid}),
                &json!({"acct": account.id, "sub": "alice", "role": "root", "exp": now + 600}),
                &account.secret,
            )),
            "unauthorized",
        ),
        (
            // Signed with this account's secret but claiming the other account.
            "other account",
            Some(mint_token(
                &f.app.other_account.id,
                &account.kid,
                &account.secret,
                "alice",
                Role::EndUser,
                now,
                3600,
            )),
            "unauthorized",
        ),
    ];
    let body = json!({"client_message_id": "auth", "type": "text", "text": "hi"}).to_string();
    for (name, token, code) in cases {
        let reply = f.post_raw(token.as_deref(), body.as_bytes()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {:?}",
            reply.body
        );
        assert_eq!(reply.error_code(), code, "{name}");
        let reply = f
            .app
            .send_raw(Method::GET, &f.messages_path(), token.as_deref(), None)
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name} (GET)");
    }
    // A non-bearer scheme is refused too.
    let reply = f
        .app
        .send_raw(Method::GET, "/v1/conversations", Some(""), None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    f.assert_unchanged().await;
}

#[tokio::test]
async fn bad_query_parameters_are_invalid_request() {
    let f = Fixture::new().await;
    for query in ["after_seq=-1", "after_seq=abc", "limit=ten"] {
        let reply = f
            .app
            .get(&format!("{}?{query}", f.messages_path()), &f.alice)
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let f = Fixture::new().await;
    let reply = f.app.get("/v1/nothing-here", &f.alice).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "route_not_found");
    let reply = f
        .app
        .send_raw(Method::DELETE, &f.messages_path(), Some(&f.alice), None)
        .await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    f.assert_unchanged().await;
}

#[tokio::test]
async fn oversize_bodies_are_refused_on_every_route_before_any_aws_request() {
    let proxy =
        integration_tests::faults::FaultProxy::start(&integration_tests::endpoint(), 2).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("alice").await;
    let huge = vec![b' '; 300 * 1024];
    let operations: Vec<(String, String)> = integration_tests::openapi::documented_operations()
        .into_iter()
        .filter(|(method, _)| method != "GET")
        .collect();
    assert!(operations.len() >= 10);
    proxy.start_recording();
    for (method, template) in &operations {
        // A real conversation of the caller's, so nothing but the size can refuse it.
        let path = integration_tests::openapi::sample_path(&template.replace("{cid}", &cid));
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        for token in [Some(app.token(Role::Admin, "admin-1")), None] {
            let reply = app
                .send_raw(method.clone(), &path, token.as_deref(), Some(huge.clone()))
                .await;
            assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        }
    }
    let requests = without_idle_polls(proxy.take_recording());
    assert!(
        requests.is_empty(),
        "oversize requests reached AWS: {} requests",
        requests.len()
    );
    assert_recorder_sees(&proxy, &app, &cid).await;
}

/// Positive control of a "no AWS request" check: a normal message through the same app and
/// proxy is recorded, so an empty recording means nothing was asked, not a blind recorder.
async fn assert_recorder_sees(
    proxy: &integration_tests::faults::FaultProxy,
    app: &TestApp,
    cid: &str,
) {
    proxy.start_recording();
    let reply = app
        .send_text(cid, &app.token(Role::EndUser, "alice"), "control", "hello")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let seen = without_idle_polls(proxy.take_recording());
    assert!(
        !seen.is_empty(),
        "the recorder saw no request of a normal message"
    );
}

#[tokio::test]
async fn message_to_a_malformed_conversation_id_is_404_without_any_table_lookup() {
    let proxy =
        integration_tests::faults::FaultProxy::start(&integration_tests::endpoint(), 2).await;
    let app = TestApp::start_at(&proxy.url).await;
    let alice = app.token(Role::EndUser, "alice");
    // Warm the signing-key cache, so only what the message itself reads is recorded.
    let cid = app.new_conversation("alice").await;
    proxy.start_recording();
    for cid in ["not-a-conversation", "c_short", &"c_".repeat(1500)] {
        let reply = app
            .post(
                &format!("/v1/conversations/{cid}/messages"),
                &alice,
                json!({"client_message_id": "m1", "type": "text", "text": "hi"}),
            )
            .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "not_found");
    }
    let requests = without_idle_polls(proxy.take_recording());
    assert!(
        requests.is_empty(),
        "malformed ids reached the table: {:?}",
        requests.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert_recorder_sees(&proxy, &app, &cid).await;
}

/// DynamoDB refuses a BETWEEN whose lower bound is above its upper one (a ValidationException,
/// which would be a 500); moto answers it with nothing, so the test looks at what is sent: a
/// cursor past every possible item must not reach DynamoDB as an inverted range.
#[tokio::test]
async fn huge_cursors_read_nothing_and_never_send_an_inverted_key_range() {
    let proxy =
        integration_tests::faults::FaultProxy::start(&integration_tests::endpoint(), 7).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let admin = app.token(Role::Admin, "admin-1");
    proxy.start_recording();
    for after in ["9999999999998", "999999999999", "18446744073709551615"] {
        let page = app
            .get(
                &format!("/v1/conversations/{cid}/messages?after_seq={after}"),
                &alice,
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "after_seq={after}: {:?}",
            page.body
        );
        assert_eq!(page.body["messages"], json!([]));
        let audit = app
            .get(&format!("/v1/settings/audit?cursor={after}"), &admin)
            .await;
        assert_eq!(
            audit.status,
            StatusCode::OK,
            "cursor={after}: {:?}",
            audit.body
        );
        assert_eq!(audit.body["entries"], json!([]));
    }
    for exchange in proxy.take_recording() {
        if exchange.target.as_deref() != Some("DynamoDB_20120810.Query") {
            continue;
        }
        let request: serde_json::Value = serde_json::from_str(&exchange.request).expect("JSON");
        let values = &request["ExpressionAttributeValues"];
        if let (Some(from), Some(to)) = (values[":from"]["S"].as_str(), values[":to"]["S"].as_str())
        {
            assert!(from <= to, "inverted range sent: {from} > {to}");
        }
    }
}
