//! The widget's HTTP side (spec "Widget (browser)", R28) on the emulator: CORS as browsers
//! exercise it, allowed origins per account, anonymous visitors and their rate limit,
//! identify, widget keys and their rotation, and what a visitor token can never reach.

use std::net::IpAddr;

use base64::Engine;
use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) const SHOP: &str = "https://shop.example";
pub(crate) const ELSEWHERE: &str = "https://elsewhere.example";

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
}

/// A request as a browser on `origin` sends it (no `Origin`: a server), from `from` (a
/// loopback address; the gateway sees it as the source address).
pub(crate) async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
    from: Option<IpAddr>,
) -> Answer {
    let client = reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("client");
    let mut request = client.request(method, format!("{}{path}", app.base_url));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("gateway reachable");
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

pub(super) async fn widget_key(app: &TestApp) -> String {
    let settings = app
        .get("/v1/settings", &app.token(Role::Admin, "admin-1"))
        .await;
    settings.body["settings"]["widget"]["key"]
        .as_str()
        .expect("every account has a widget key")
        .to_string()
}

pub(crate) async fn new_visitor(app: &TestApp, key: &str, origin: Option<&str>) -> Answer {
    request(
        app,
        Method::POST,
        "/v1/widget/visitors",
        origin,
        None,
        Some(json!({"widget_key": key})),
        None,
    )
    .await
}

/// A new visitor's token.
pub(super) async fn visitor_token(app: &TestApp, key: &str) -> String {
    let visitor = new_visitor(app, key, None).await;
    assert_eq!(visitor.status, StatusCode::CREATED, "{:?}", visitor.body);
    visitor.body["token"].as_str().expect("token").to_string()
}

pub(crate) fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub(crate) async fn allow_origins(app: &TestApp, origins: &[&str]) {
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"widget": {"allowed_origins": origins}}),
    )
    .await;
}

#[tokio::test]
async fn preflight_is_answered_on_every_route_with_the_requesting_origin() {
    let app = TestApp::start().await;
    for route in edge::routes::ROUTES {
        let path = integration_tests::openapi::sample_path(route.pattern);
        let client = reqwest::Client::new();
        let response = client
            .request(Method::OPTIONS, format!("{}{path}", app.base_url))
            .header("origin", SHOP)
            .header("access-control-request-method", route.method)
            .header(
                "access-control-request-headers",
                "authorization, content-type, if-match",
            )
            .send()
            .await
            .expect("gateway reachable");
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("access-control-allow-origin"), SHOP, "{path}");
        assert!(
            header("access-control-allow-methods").contains(route.method),
            "{path}"
        );
        let allowed = header("access-control-allow-headers");
        for needed in ["authorization", "content-type", "if-match"] {
            assert!(allowed.contains(needed), "{path}: {allowed}");
        }
        assert!(header("access-control-max-age").parse::<u32>().is_ok());
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none(),
            "no cookies are used"
        );
    }
    // A path no route serves is not found, preflight or not.
    let unknown = request(
        &app,
        Method::OPTIONS,
        "/v1/nothing",
        Some(SHOP),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn end_user_browser_requests_must_come_from_an_allowed_origin() {
    let app = TestApp::start().await;
    allow_origins(&app, &[SHOP]).await;
    let alice = app.token(Role::EndUser, "alice");

    // The allowed origin: created, and the page may read the answer.
    let allowed = request(
        &app,
        Method::POST,
        "/v1/conversations",
        Some(SHOP),
        Some(&alice),
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{:?}", allowed.body);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(SHOP));
    assert!(allowed
        .header("access-control-expose-headers")
        .is_some_and(|h| h.contains("retry-after")));

    // Another origin: 403, readable by the page, and nothing is created or changed.
    let refused = request(
        &app,
        Method::POST,
        "/v1/conversations",
        Some(ELSEWHERE),
        Some(&alice),
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "origin_not_allowed");
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some(ELSEWHERE)
    );
    let cid = allowed.body["id"].as_str().unwrap();
    let post = request(
        &app,
        Method::POST,
        &format!("/v1/conversations/{cid}/messages"),
        Some(ELSEWHERE),
        Some(&alice),
        Some(json!({"client_message_id": "m1", "type": "text", "text": "hello"})),
        None,
    )
    .await;
    assert_eq!(post.code(), "origin_not_allowed");
    assert!(app.stored_messages(cid).await.is_empty());
    let listed = app.get("/v1/conversations", &alice).await;
    assert_eq!(listed.body["conversations"].as_array().unwrap().len(), 1);

    // No Origin (a server) is not restricted; neither is staff in a browser elsewhere.
    let server = request(
        &app,
        Method::GET,
        "/v1/conversations",
        None,
        Some(&alice),
        None,
        None,
    )
    .await;
    assert_eq!(server.status, StatusCode::OK);
    assert!(server.header("access-control-allow-origin").is_none());
    let staff = request(
        &app,
        Method::GET,
        &format!("/v1/conversations/{cid}"),
        Some(ELSEWHERE),
        Some(&app.token(Role::Agent, "agent-1")),
        None,
        None,
    )
    .await;
    assert_eq!(staff.status, StatusCode::OK, "{:?}", staff.body);
}

#[tokio::test]
async fn an_end_users_websocket_must_come_from_an_allowed_origin_too() {
    let app = TestApp::start_live().await;
    allow_origins(&app, &[SHOP]).await;
    let alice = app.token(Role::EndUser, "alice");
    assert_eq!(
        app.try_connect_from(&alice, Some(ELSEWHERE)).await.err(),
        Some(403)
    );
    assert!(app.try_connect_from(&alice, Some(SHOP)).await.is_ok());
    assert!(app.try_connect_from(&alice, None).await.is_ok());
    // Staff consoles are not bound to the widget's origins.
    let agent = app.token(Role::Agent, "agent-1");
    assert!(app.try_connect_from(&agent, Some(ELSEWHERE)).await.is_ok());
}

#[tokio::test]
async fn allowed_origins_are_validated_and_audited() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let version = app.get("/v1/settings", &admin).await.body["version"].clone();
    for bad in [
        json!(["https://shop.example/"]),
        json!(["shop.example"]),
        json!(["https://SHOP.example"]),
        json!([SHOP, SHOP]),
        json!(SHOP),
    ] {
        let response = reqwest::Client::new()
            .patch(format!("{}/v1/settings", app.base_url))
            .bearer_auth(&admin)
            .header("if-match", version.to_string())
            .body(json!({"widget": {"allowed_origins": bad}}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_setting", "{bad}");
    }
    allow_origins(&app, &[SHOP, "http://localhost:8080"]).await;
    let audit = app.get("/v1/settings/audit", &admin).await;
    let last = audit.body["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last["changes"]["widget.allowed_origins"]["after"],
        json!([SHOP, "http://localhost:8080"])
    );
    assert_eq!(last["actor"], "admin-1");
}

#[tokio::test]
async fn the_widget_config_is_public_by_key_and_unknown_keys_are_not_found() {
    let app = TestApp::start().await;
    let key = widget_key(&app).await;
    let config = request(
        &app,
        Method::GET,
        &format!("/v1/widget/config?key={key}"),
        Some(ELSEWHERE),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(config.status, StatusCode::OK, "{:?}", config.body);
    assert_eq!(config.body["account_id"], app.account.id.as_str());
    assert_eq!(config.body["messaging_enabled"], true);
    assert_eq!(config.body["attachments_enabled"], true);
    assert_eq!(config.body["business_hours_open"], true);
    assert!(config.body["greeting"]
        .as_str()
        .is_some_and(|g| !g.is_empty()));

    // Another account's key with this account's id, a malformed key, no key.
    let other = widget_key_of_other(&app).await;
    let forged = format!(
        "wk.{}.{}",
        app.account.id,
        other.rsplit('.').next().unwrap()
    );
    for path in [
        format!("/v1/widget/config?key={forged}"),
        "/v1/widget/config?key=nonsense".to_string(),
    ] {
        let answer = request(&app, Method::GET, &path, None, None, None, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.code(), "unknown_widget_key");
    }
    let missing = request(
        &app,
        Method::GET,
        "/v1/widget/config",
        None,
        None,
        None,
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

/// The other account's widget key (read as its admin).
pub(crate) async fn widget_key_of_other(app: &TestApp) -> String {
    let admin = app.other_account.token(Role::Admin, "admin-9");
    app.get("/v1/settings", &admin).await.body["settings"]["widget"]["key"]
        .as_str()
        .unwrap()
        .to_string()
}
