//! Visitor context (#39 item 6): the end user's widget says which pages they were on, agents
//! see them with the browser, OS and device class beside the conversation; no query string is
//! ever kept, the account can turn it off, erasure removes it. On the emulator.

use domain::model::Role;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const MAC_CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
    (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn share(app: &TestApp, cid: &str, token: &str, pages: Value) -> Reply {
    let response = reqwest::Client::new()
        .put(format!(
            "{}/v1/conversations/{cid}/visitor-context",
            app.base_url
        ))
        .bearer_auth(token)
        .header("user-agent", MAC_CHROME)
        .json(&json!({"pages": pages}))
        .send()
        .await
        .expect("gateway reachable");
    let status = response.status();
    let headers = response.headers().clone();
    Reply::new(status, &headers, response.json().await.expect("JSON"))
}

fn now_ms() -> i64 {
    domain::now_ms()
}

async fn as_staff(app: &TestApp, cid: &str) -> Value {
    app.get(
        &format!("/v1/conversations/{cid}"),
        &app.token(Role::Agent, "agent-1"),
    )
    .await
    .body["visitor_context"]
        .clone()
}

#[tokio::test]
async fn agents_see_the_pages_without_queries_and_the_browser() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    assert_eq!(
        as_staff(&app, &cid).await,
        Value::Null,
        "nothing before the widget says"
    );
    let t = now_ms();
    let pages = json!([
        {"path": "/mugs#aurora", "title": "Mugs", "at": t - 60_000},
        {"path": "/checkout?coupon=SECRET&email=alice@example.com", "title": " Checkout ", "at": t - 1_000},
    ]);
    let reply = share(&app, &cid, &alice, pages.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let seen = as_staff(&app, &cid).await;
    let paths: Vec<&str> = seen["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p["path"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(paths, ["/mugs", "/checkout"]);
    assert_eq!(seen["pages"][1]["title"], "Checkout");
    assert!(!seen.to_string().contains("SECRET"), "{seen}");
    assert_eq!(seen["device"], "desktop");
    assert!(
        seen["browser"]
            .as_str()
            .is_some_and(|b| b.starts_with("Chrome 120")),
        "{seen}"
    );
    assert!(
        seen["os"]
            .as_str()
            .is_some_and(|o| o.starts_with("Mac OSX")),
        "{seen}"
    );

    // The same again writes nothing.
    let revision = app.stored_conversation(&cid).await.revision;
    assert_eq!(
        share(&app, &cid, &alice, pages).await.status,
        StatusCode::OK
    );
    assert_eq!(app.stored_conversation(&cid).await.revision, revision);
}

#[tokio::test]
async fn bad_pages_other_people_and_a_closed_setting_are_refused_and_nothing_changes() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let t = now_ms();
    let good = json!([{"path": "/", "title": "Home", "at": t}]);
    assert_eq!(
        share(&app, &cid, &alice, good.clone()).await.status,
        StatusCode::OK
    );
    let kept = as_staff(&app, &cid).await;

    let many: Vec<Value> = (0..21)
        .map(|i| json!({"path": "/p", "title": "", "at": t - i}))
        .collect();
    for (pages, status, code) in [
        (
            json!(many),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_visitor_context",
        ),
        (
            json!([{"path": "https://evil.example/", "at": t}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_visitor_context",
        ),
        (
            json!([{"path": "/x", "title": "bell\u{7}", "at": t}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_visitor_context",
        ),
        (
            json!([{"path": "/x", "at": 0}]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_visitor_context",
        ),
        (
            json!([{"path": "/x", "at": t, "cookie": "x"}]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        let reply = share(&app, &cid, &alice, pages.clone()).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (status, code),
            "{pages}"
        );
    }
    // Staff do not speak for the visitor; another end user does not see the conversation.
    let agent = share(&app, &cid, &app.token(Role::Agent, "agent-1"), good.clone()).await;
    assert_eq!(
        (agent.status, agent.error_code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let mallory = share(
        &app,
        &cid,
        &app.token(Role::EndUser, "mallory"),
        good.clone(),
    )
    .await;
    assert_eq!(mallory.status, StatusCode::NOT_FOUND);
    assert_eq!(as_staff(&app, &cid).await, kept);

    // The account turns it off: refused, and the widget is told not to send.
    let admin = app.token(Role::Admin, "admin-1");
    app.patch_settings(&admin, json!({"widget": {"share_page_views": false}}))
        .await;
    let config = app.widget_config().await;
    assert_eq!(config["share_page_views"], false, "{config}");
    let late = json!([{"path": "/later", "title": "Later", "at": now_ms()}]);
    let off = share(&app, &cid, &alice, late).await;
    assert_eq!(
        (off.status, off.error_code()),
        (StatusCode::FORBIDDEN, "page_views_disabled")
    );
    assert_eq!(as_staff(&app, &cid).await, kept);
}

#[tokio::test]
async fn erasing_the_end_user_removes_where_they_were() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let pages = json!([{"path": "/orders/1042", "title": "Order 1042", "at": now_ms()}]);
    assert_eq!(
        share(&app, &cid, &alice, pages).await.status,
        StatusCode::OK
    );
    assert!(app
        .stored_conversation(&cid)
        .await
        .visitor_context
        .is_some());
    let erased = app
        .send_raw(
            Method::DELETE,
            "/v1/end-users/alice",
            Some(&app.token(Role::Admin, "admin-1")),
            None,
        )
        .await;
    assert!(erased.status.is_success(), "{:?}", erased.body);
    assert_eq!(app.stored_conversation(&cid).await.visitor_context, None);
}
