//! The widget's anonymous visitors (spec "Widget (browser)", R28) on the emulator: their tokens,
//! what they can never reach, their rate limit, identify, widget key rotation and turning
//! visitors off.

use std::net::IpAddr;
use std::time::Duration;

use super::widget_api::{
    allow_origins, claims_of, new_visitor, request, visitor_token, widget_key, ELSEWHERE, SHOP,
};
use domain::model::Role;
use domain::widget::{VisitorRate, VISITOR_SIGNING_KID};
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};
use use_cases::backend::Limits;

#[tokio::test]
async fn a_visitor_gets_a_day_long_end_user_token_of_the_keys_account_only() {
    let app = TestApp::start().await;
    allow_origins(&app, &[SHOP]).await;
    let key = widget_key(&app).await;
    let visitor = new_visitor(&app, &key, Some(SHOP)).await;
    assert_eq!(visitor.status, StatusCode::CREATED, "{:?}", visitor.body);
    assert_eq!(visitor.header("access-control-allow-origin"), Some(SHOP));
    let token = visitor.body["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["acct"], app.account.id.as_str());
    assert_eq!(claims["role"], "end_user");
    assert_eq!(claims["sub"], visitor.body["visitor_id"]);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 24 * 3600);
    assert_eq!(visitor.body["expires_at"], claims["exp"]);

    // A page elsewhere gets no visitor.
    let elsewhere = new_visitor(&app, &key, Some(ELSEWHERE)).await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert_eq!(elsewhere.code(), "origin_not_allowed");

    // The visitor works with its own conversation and reaches nothing of the other account.
    let cid = app.post("/v1/conversations", token, json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = app.other_account.token(Role::EndUser, "bob");
    let theirs = app.post("/v1/conversations", &bob, json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = app.get(&format!("/v1/conversations/{theirs}"), token).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/v1/conversations/{cid}"), token)
            .await
            .status,
        StatusCode::OK
    );

    // The visitor signing key signs visitors only: an agent token under it is refused.
    let stored = app
        .backend
        .store
        .get_signing_key(&app.account.id, VISITOR_SIGNING_KID)
        .await
        .unwrap()
        .expect("the visitor key exists after the first visitor");
    let now = domain::now_ms() / 1000;
    let forged = use_cases::auth::mint_token(
        &app.account.id,
        VISITOR_SIGNING_KID,
        &stored.secret,
        "agent-1",
        Role::Agent,
        now,
        3600,
    );
    assert_eq!(
        app.get("/v1/agents/me", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_visitor_never_reaches_another_visitors_conversation() {
    let app = TestApp::start().await;
    let key = widget_key(&app).await;
    let (first, second) = (
        visitor_token(&app, &key).await,
        visitor_token(&app, &key).await,
    );
    let cid = app.post("/v1/conversations", &first, json!({})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        format!("/v1/conversations/{cid}"),
        format!("/v1/conversations/{cid}/messages"),
    ] {
        let answer = app.get(&path, &second).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    let listed = app.get("/v1/conversations", &second).await;
    assert_eq!(listed.body["conversations"], json!([]));
}

#[tokio::test]
async fn too_many_new_visitors_from_one_address_are_told_when_to_come_back() {
    // Long enough for four requests to fit in one window on a loaded machine (at 2 s the
    // fourth once landed in the next window while the whole suite ran).
    let window = Duration::from_secs(6);
    let app = TestApp::start_live_with(
        &integration_tests::endpoint(),
        Limits {
            visitor_rate: VisitorRate {
                per_window: 3,
                window_ms: window.as_millis() as i64,
            },
            ..Limits::default()
        },
    )
    .await;
    let key = widget_key(&app).await;
    let from = |last: u8| Some(IpAddr::from([127, 0, 0, last]));
    let visit = |source| {
        let (app, key) = (&app, &key);
        async move {
            request(
                app,
                Method::POST,
                "/v1/widget/visitors",
                None,
                None,
                Some(json!({"widget_key": key})),
                source,
            )
            .await
        }
    };
    // Start at the beginning of a window, so the four requests share one.
    let now = domain::now_ms();
    let into_window = now.rem_euclid(window.as_millis() as i64) as u64;
    tokio::time::sleep(Duration::from_millis(
        window.as_millis() as u64 - into_window,
    ))
    .await;
    for _ in 0..3 {
        assert_eq!(visit(from(1)).await.status, StatusCode::CREATED);
    }
    let refused = visit(from(1)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.code(), "rate_limited");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    // At most the rest of the window.
    assert!(
        (1..=window.as_secs()).contains(&retry_after),
        "{retry_after}"
    );
    // Another address is counted apart.
    assert_eq!(visit(from(2)).await.status, StatusCode::CREATED);
    // After Retry-After, the first address is welcome again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(visit(from(1)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn identify_moves_the_visitors_conversations_once_and_the_visitor_loses_them() {
    let app = TestApp::start().await;
    let key = widget_key(&app).await;
    let visitor = visitor_token(&app, &key).await;
    let mut cids = Vec::new();
    for _ in 0..2 {
        let created = app.post("/v1/conversations", &visitor, json!({})).await;
        cids.push(created.body["id"].as_str().unwrap().to_string());
    }
    app.send_text(&cids[0], &visitor, "m1", "my order is late")
        .await;
    let alice = app.token(Role::EndUser, "alice");

    let identify = |user_token: String| {
        let (app, visitor) = (&app, &visitor);
        async move {
            app.post(
                "/v1/widget/identify",
                visitor,
                json!({"user_token": user_token}),
            )
            .await
        }
    };
    let first = identify(alice.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body, json!({"user_id": "alice", "moved": 2}));
    // A retry (say the answer was lost) moves nothing twice.
    let retried = identify(alice.clone()).await;
    assert_eq!(retried.body, json!({"user_id": "alice", "moved": 0}));

    for cid in &cids {
        let path = format!("/v1/conversations/{cid}");
        assert_eq!(app.get(&path, &visitor).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&path, &alice).await.status, StatusCode::OK);
    }
    let history = app
        .get(&format!("/v1/conversations/{}/messages", cids[0]), &alice)
        .await;
    assert_eq!(history.body["messages"][0]["text"], "my order is late");
}

#[tokio::test]
async fn identify_takes_only_an_end_user_of_the_visitors_account_and_only_from_a_visitor() {
    let app = TestApp::start().await;
    let key = widget_key(&app).await;
    let visitor = visitor_token(&app, &key).await;
    let other_visitor = visitor_token(&app, &key).await;
    let refusals = [
        (
            app.other_account.token(Role::EndUser, "alice"),
            "another account's user",
        ),
        (app.token(Role::Agent, "agent-1"), "an agent"),
        (other_visitor.clone(), "another visitor"),
        ("not-a-token".to_string(), "garbage"),
    ];
    for (user_token, what) in refusals {
        let answer = app
            .post(
                "/v1/widget/identify",
                &visitor,
                json!({"user_token": user_token}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert_eq!(answer.error_code(), "invalid_user_token", "{what}");
    }
    // Only a visitor can be identified.
    let answer = app
        .post(
            "/v1/widget/identify",
            &app.token(Role::EndUser, "carol"),
            json!({"user_token": app.token(Role::EndUser, "alice")}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "not_a_visitor");
    // Unknown fields are refused like everywhere.
    let answer = app
        .post(
            "/v1/widget/identify",
            &visitor,
            json!({"user_token": app.token(Role::EndUser, "alice"), "merge": true}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rotating_the_widget_key_stops_new_visitors_with_the_old_one() {
    let app = TestApp::start().await;
    let old = widget_key(&app).await;
    let before = visitor_token(&app, &old).await;
    let admin = app.token(Role::Admin, "admin-1");
    let rotated = app
        .patch_settings(&admin, json!({"widget": {"key": null}}))
        .await;
    let new = rotated.body["settings"]["widget"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let refused = new_visitor(&app, &old, None).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.code(), "unknown_widget_key");
    let config = request(
        &app,
        Method::GET,
        &format!("/v1/widget/config?key={old}"),
        None,
        None,
        None,
        None,
    )
    .await;
    assert_eq!(config.status, StatusCode::NOT_FOUND);
    assert_eq!(
        new_visitor(&app, &new, None).await.status,
        StatusCode::CREATED
    );
    // Visitors already chatting keep their token until it expires.
    assert_eq!(
        app.get("/v1/conversations", &before).await.status,
        StatusCode::OK
    );
    // A key is generated, never chosen.
    let version = app.get("/v1/settings", &admin).await.body["version"].to_string();
    let chosen = reqwest::Client::new()
        .patch(format!("{}/v1/settings", app.base_url))
        .bearer_auth(&admin)
        .header("if-match", version)
        .body(json!({"widget": {"key": "wk.mine.0123456789abcdef0123456789abcdef"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// #33 item 5: a new account's widget key is drawn at random, not derived from its id and
/// creation instant (on the main of #33 the served key was exactly that derivation).
#[tokio::test]
async fn a_new_accounts_widget_key_is_random_not_derived() {
    let app = TestApp::start().await;
    let served = widget_key(&app).await;
    let account = app
        .backend
        .store
        .get_account(&app.account.id)
        .await
        .unwrap()
        .expect("the test account");
    let derived = domain::widget::first_widget_key(&domain::model::Account {
        widget_key: None,
        ..account.clone()
    });
    assert_ne!(served, derived, "the key can be computed from the account");
    assert_eq!(account.widget_key.as_deref(), Some(served.as_str()));
    // And it works: the key mints a visitor.
    visitor_token(&app, &served).await;
}

/// #33 item 5: `widget.visitors_enabled: false` stops new visitors (403 `visitors_disabled`)
/// and refuses visitor tokens already given, over HTTP and WebSocket; identified end users
/// carry on. Turning it back on admits visitors again.
#[tokio::test]
async fn an_account_can_turn_anonymous_visitors_off() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let key = widget_key(&app).await;
    let earlier = visitor_token(&app, &key).await;
    // Positive control: the visitor works while visitors are on.
    let created = app.post("/v1/conversations", &earlier, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

    let off = app
        .patch_settings(&admin, json!({"widget": {"visitors_enabled": false}}))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    let refused = new_visitor(&app, &key, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.code(), "visitors_disabled");
    let used = app.post("/v1/conversations", &earlier, json!({})).await;
    assert_eq!(used.status, StatusCode::FORBIDDEN, "{:?}", used.body);
    assert_eq!(used.error_code(), "visitors_disabled");
    let alice = app.token(Role::EndUser, "alice");
    let identified = app.post("/v1/conversations", &alice, json!({})).await;
    assert_eq!(
        identified.status,
        StatusCode::CREATED,
        "{:?}",
        identified.body
    );

    let on = app
        .patch_settings(&admin, json!({"widget": {"visitors_enabled": true}}))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.body);
    visitor_token(&app, &key).await;
}
