//! Quotas per caller (R33, #33 item 3), on the emulator: one listener holds at most 10
//! WebSocket connections, an end user or visitor starts at most 20 conversations an hour and
//! admits at most 500 MB of uploads a day (429 `quota_exceeded` with `Retry-After`), and the
//! visitor rate limit counts an IPv6 /64 as one address. Each with its positive control: the
//! next caller is not affected. On the main of #33 every one of these was unlimited.

use domain::model::Role;
use domain::widget::VisitorRate;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

use super::deployed_path::{http_api_event, through_lambda};

#[tokio::test]
async fn one_listener_holds_at_most_ten_connections_and_others_are_not_affected() {
    let app = TestApp::start_live().await;
    let token = app.token(Role::EndUser, "eu-greedy");
    let mut open = Vec::new();
    for _ in 0..10 {
        open.push(app.connect(&token).await);
    }
    assert_eq!(app.try_connect(&token).await.err(), Some(429));
    // Another end user and an agent of the same account still connect.
    app.connect(&app.token(Role::EndUser, "eu-other")).await;
    app.connect(&app.token(Role::Agent, "ag-1")).await;
    // A connection of the greedy caller that closes frees its place.
    open.pop().expect("an open connection").close().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.try_connect(&token).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_end_user_starts_at_most_twenty_conversations_an_hour() {
    let app = TestApp::start().await;
    let token = app.token(Role::EndUser, "eu-busy");
    for n in 0..20 {
        let created = app.post("/v1/conversations", &token, json!({})).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{n}: {:?}",
            created.body
        );
    }
    // The 21st, through the Lambda entry API Gateway calls: 429 with its Retry-After.
    let event = http_api_event(
        "$default",
        "POST",
        "/v1/conversations",
        "",
        Some(&token),
        Some("{}"),
        false,
    );
    let refused = through_lambda(&app.backend, event).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "quota_exceeded");
    let retry: u64 = refused.headers["retry-after"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {}", refused.headers));
    assert!((1..=3600).contains(&retry), "{retry}");
    // Nothing was stored for the refusal.
    let listed = app.get("/v1/conversations", &token).await;
    assert_eq!(
        listed.body["conversations"].as_array().map(Vec::len),
        Some(20)
    );
    // Another end user is not affected.
    let other = app
        .post(
            "/v1/conversations",
            &app.token(Role::EndUser, "eu-calm"),
            json!({}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
}

#[tokio::test]
async fn an_end_user_admits_at_most_500_mb_of_uploads_a_day() {
    let app = TestApp::start().await;
    let token = app.token(Role::EndUser, "eu-files");
    let cid = app.new_conversation("eu-files").await;
    let admit = |size: u64| {
        let (app, token, cid) = (&app, token.clone(), cid.clone());
        async move {
            super::attachments_api::admit(
                app,
                &cid,
                &token,
                json!({"file_name": "big.pdf", "content_type": "application/pdf", "size": size}),
            )
            .await
        }
    };
    let fifty_mb = 50 * 1024 * 1024;
    for n in 0..10 {
        let admitted = admit(fifty_mb).await;
        assert_eq!(
            admitted.status,
            StatusCode::CREATED,
            "{n}: {:?}",
            admitted.body
        );
    }
    let refused = admit(1024).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.error_code(), "quota_exceeded");
    // The agent of the conversation is not charged.
    let agent = app.token(Role::Agent, "ag-1");
    let by_staff = super::attachments_api::admit(
        &app,
        &cid,
        &agent,
        json!({"file_name": "reply.pdf", "content_type": "application/pdf", "size": 1024}),
    )
    .await;
    assert_ne!(
        by_staff.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        by_staff.body
    );
    // Another end user still uploads.
    let other = app.token(Role::EndUser, "eu-light");
    let theirs = app.new_conversation("eu-light").await;
    let admitted = super::attachments_api::admit(
        &app,
        &theirs,
        &other,
        json!({"file_name": "a.pdf", "content_type": "application/pdf", "size": 1024}),
    )
    .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
}

#[tokio::test]
async fn the_visitor_rate_limit_counts_an_ipv6_64_as_one_address() {
    let app = TestApp::start().await;
    let key = super::widget_api::widget_key(&app).await;
    let mut backend = app.backend.clone();
    backend.limits.visitor_rate = VisitorRate {
        per_window: 2,
        window_ms: 3_600_000,
    };
    let from = |source: &'static str| {
        let (backend, key) = (backend.clone(), key.clone());
        async move {
            let body = json!({"widget_key": key}).to_string();
            let mut event = http_api_event(
                "$default",
                "POST",
                "/v1/widget/visitors",
                "",
                None,
                Some(&body),
                false,
            );
            event.json["requestContext"]["http"]["sourceIp"] = json!(source);
            through_lambda(&backend, event).await.status
        }
    };
    assert_eq!(from("2001:db8:77:1::1").await, 201);
    assert_eq!(from("2001:db8:77:1::2").await, 201);
    // A third address of the same /64 is the same host.
    assert_eq!(from("2001:db8:77:1:ffff:ffff:ffff:3").await, 429);
    // Positive control: another /64 has its own count.
    assert_eq!(from("2001:db8:77:2::1").await, 201);
}
