//! Business hours and the away message (#17 item 6, spec "Satisfaction and hours"), on the
//! emulator with the fan-out reading the change stream: outside hours (a closed week, or a
//! holiday) a handoff gets `messaging.away_message` once per session and still waits for
//! routing; inside hours it gets nothing; the widget config says whether the team is at work;
//! bad hours are refused with the setting named and nothing stored.

use std::time::Duration;

use domain::model::{Control, Role};
use integration_tests::agents::{accept, agent, offered_to};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

const AWAY: &str = "We are closed right now. Leave your question and we will answer when we open.";

fn week_of(day: Value) -> Value {
    json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day})
}

/// Business hours in New York that are never open, with the away message.
fn closed_all_week() -> Value {
    json!({
        "business_hours": {"enabled": true, "timezone": "America/New_York", "schedule": week_of(json!([]))},
        "messaging": {"away_message": AWAY},
    })
}

/// Business hours in Tokyo that are always open (but for holidays), with the away message.
fn open_all_week(holidays: Vec<String>) -> Value {
    json!({
        "business_hours": {
            "enabled": true,
            "timezone": "Asia/Tokyo",
            "schedule": week_of(json!([["00:00", "24:00"]])),
            "holidays": holidays,
        },
        "messaging": {"away_message": AWAY},
    })
}

/// Yesterday, today and tomorrow in UTC: whatever the time zone, its local date is one of them.
fn around_today() -> Vec<String> {
    let now = domain::now_ms();
    [-1, 0, 1]
        .iter()
        .map(|d| domain::rfc3339(now + d * 86_400_000)[..10].to_string())
        .collect()
}

async fn set(app: &TestApp, patch: Value) {
    app.patch_settings(&app.token(Role::Admin, "admin-1"), patch)
        .await;
}

async fn business_hours_open(app: &TestApp) -> bool {
    app.widget_config().await["business_hours_open"]
        .as_bool()
        .expect("business_hours_open")
}

async fn hand_off(app: &TestApp, cid: &str, user: &str) -> StatusCode {
    app.post(
        &format!("/v1/conversations/{cid}/handoff"),
        &app.token(Role::EndUser, user),
        json!({}),
    )
    .await
    .status
}

/// The away messages stored in the conversation, once there are `wanted` (or after `wait`).
async fn away_messages(app: &TestApp, cid: &str, wanted: usize, wait: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let found: Vec<String> = app
            .stored_messages(cid)
            .await
            .into_iter()
            .filter(|m| m.client_message_id.starts_with("system.away-message."))
            .map(|m| m.client_message_id)
            .collect();
        if found.len() >= wanted || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_handoff_outside_business_hours_gets_the_away_message_once_per_session() {
    let app = TestApp::start_live().await;
    set(&app, closed_all_week()).await;
    assert!(!business_hours_open(&app).await);
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    assert_eq!(
        app.send_text(&cid, &alice, "m1", "hello?").await.status,
        StatusCode::CREATED
    );
    assert_eq!(hand_off(&app, &cid, "alice").await, StatusCode::ACCEPTED);
    let away = away_messages(&app, &cid, 1, Duration::from_secs(10)).await;
    assert_eq!(away, ["system.away-message.s1"]);
    // The end user reads it as a system message, after the handoff.
    let history = app
        .get(&format!("/v1/conversations/{cid}/messages"), &alice)
        .await;
    let shown = history.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == AWAY)
        .cloned()
        .expect("the end user sees the away message");
    assert_eq!(shown["type"], "system");
    // It still waits for routing: agents hold it, an online agent is offered it.
    assert_eq!(app.stored_conversation(&cid).await.control, Control::Agent);
    agent(&app, "ag-1", 2, &[], "online").await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-1"));

    // More messages in the same session bring no second one.
    assert_eq!(
        app.send_text(&cid, &alice, "m2", "still there?")
            .await
            .status,
        StatusCode::CREATED
    );
    // The next session (after an agent's end) gets its own, once.
    assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
    let ended = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, "ag-1"),
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    assert_eq!(
        app.send_text(&cid, &alice, "m3", "one more thing")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(hand_off(&app, &cid, "alice").await, StatusCode::ACCEPTED);
    let away = away_messages(&app, &cid, 2, Duration::from_secs(10)).await;
    assert_eq!(away, ["system.away-message.s1", "system.away-message.s2"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(away_messages(&app, &cid, 3, Duration::ZERO).await.len(), 2);
}

#[tokio::test]
async fn inside_business_hours_a_handoff_gets_no_away_message_but_a_holiday_is_closed() {
    let app = TestApp::start_live().await;
    set(&app, open_all_week(Vec::new())).await;
    assert!(business_hours_open(&app).await);
    let cid = app.new_conversation("bob").await;
    assert_eq!(hand_off(&app, &cid, "bob").await, StatusCode::ACCEPTED);
    // Read for a while after the handoff: nothing comes.
    assert!(away_messages(&app, &cid, 1, Duration::from_secs(3))
        .await
        .is_empty());

    // The same week with today (wherever Tokyo's date is) a holiday: closed.
    set(&app, open_all_week(around_today())).await;
    assert!(!business_hours_open(&app).await);
    let cid = app.new_conversation("carol").await;
    assert_eq!(hand_off(&app, &cid, "carol").await, StatusCode::ACCEPTED);
    assert_eq!(
        away_messages(&app, &cid, 1, Duration::from_secs(10)).await,
        ["system.away-message.s1"]
    );

    // Business hours switched off: open around the clock again.
    set(&app, json!({"business_hours": {"enabled": false}})).await;
    assert!(business_hours_open(&app).await);
}

#[tokio::test]
async fn with_the_bot_off_a_session_gets_the_away_message_when_it_starts() {
    let app = TestApp::start_live().await;
    let mut patch = closed_all_week();
    patch["bot"] = json!({"enabled": false});
    set(&app, patch).await;
    let cid = app.new_conversation("dave").await;
    assert_eq!(
        away_messages(&app, &cid, 1, Duration::from_secs(10)).await,
        ["system.away-message.s1"]
    );
}

#[tokio::test]
async fn without_an_away_message_nothing_is_posted_and_readiness_recommends_one() {
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "admin-1");
    let mut patch = closed_all_week();
    patch["messaging"] = json!({"away_message": null});
    set(&app, patch).await;
    let readiness = app.get("/v1/settings/messaging-readiness", &admin).await;
    let item = readiness.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "away_message")
        .cloned()
        .expect("readiness lists the away message");
    assert_eq!(item["level"], "recommended");
    assert_eq!(item["ok"], false);
    let cid = app.new_conversation("erin").await;
    assert_eq!(hand_off(&app, &cid, "erin").await, StatusCode::ACCEPTED);
    assert!(away_messages(&app, &cid, 1, Duration::from_secs(3))
        .await
        .is_empty());
    set(&app, json!({"messaging": {"away_message": AWAY}})).await;
    let readiness = app.get("/v1/settings/messaging-readiness", &admin).await;
    assert!(readiness.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "away_message" && i["ok"] == true));
}

#[tokio::test]
async fn bad_hours_away_messages_and_idle_timeouts_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let before = app.get("/v1/settings", &admin).await.body;
    assert_eq!(before["version"], 0);
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({"business_hours": {"timezone": "Mars/Olympus_Mons"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "business_hours.timezone",
        ),
        (
            json!({"business_hours": {"schedule": {"monday": []}}}),
            StatusCode::BAD_REQUEST,
            "unknown_setting",
            "business_hours.schedule.monday",
        ),
        (
            json!({"business_hours": {"schedule": {"tue": [["17:00", "09:00"]]}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "business_hours.schedule.tue",
        ),
        (
            json!({"business_hours": {"schedule": {"wed": [["9am", "5pm"]]}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "business_hours.schedule.wed",
        ),
        (
            json!({"business_hours": {"schedule": {"thu": [["09:00"]]}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "wrong type",
        ),
        (
            json!({"business_hours": {"holidays": ["2026-13-01"]}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "business_hours.holidays",
        ),
        (
            json!({"messaging": {"away_message": "   "}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "messaging.away_message",
        ),
        (
            json!({"messaging": {"away_message": "x".repeat(1_001)}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "messaging.away_message",
        ),
        (
            json!({"messaging": {"idle_timeout_minutes": 0}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "messaging.idle_timeout_minutes",
        ),
        (
            json!({"messaging": {"idle_timeout_minutes": 10_081}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "messaging.idle_timeout_minutes",
        ),
        (
            json!({"messaging": {"idle_timeout_minutes": -5}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
            "wrong type",
        ),
    ];
    let settings = super::settings_api::admin(&app);
    for (patch, status, code, named) in cases {
        let reply = settings.patch(Some(0), patch.clone()).await;
        assert_eq!(reply.status, status, "{patch}: {:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{patch}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{patch}: {message}");
    }
    assert_eq!(app.get("/v1/settings", &admin).await.body, before);
    // And good ones are kept as given.
    set(
        &app,
        json!({
            "business_hours": {"enabled": true, "timezone": "Europe/Paris",
                "schedule": {"sat": [["10:00", "12:30"], ["13:30", "16:00"]]}, "holidays": ["2026-12-25"]},
            "messaging": {"idle_timeout_minutes": 30},
        }),
    )
    .await;
    let after = app.get("/v1/settings", &admin).await.body;
    let hours = &after["settings"]["business_hours"];
    assert_eq!(hours["schedule"]["sat"][1], json!(["13:30", "16:00"]));
    assert_eq!(hours["schedule"]["mon"], json!([["09:00", "17:00"]]));
    assert_eq!(hours["holidays"], json!(["2026-12-25"]));
    assert_eq!(after["settings"]["messaging"]["idle_timeout_minutes"], 30);
}
