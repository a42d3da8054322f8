//! Satisfaction surveys delivered (#17 item 5, R6, spec "Satisfaction and hours"), on the
//! emulator with the fan-out reading the change stream: the `csat_request` message follows an
//! ended session only when R6 is on, the end user rates once, admins read the report.

use std::time::Duration;

use domain::model::{Priority, Role};
use integration_tests::agents::{accept, agent, offered_to, waiting};
use integration_tests::{json, Reply, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

/// A conversation of `user` assigned to `agent_id`, ended by that agent.
pub(super) async fn ended_conversation(app: &TestApp, user: &str, agent_id: &str) -> String {
    let cid = waiting(app, user, Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(app, &cid).await.as_deref(), Some(agent_id));
    assert_eq!(accept(app, agent_id, &cid).await.status, StatusCode::OK);
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, agent_id),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    cid
}

/// The survey as the end user sees it, once it arrived (or `None` after `wait`).
/// How long a live test waits for the survey, a reaction of the change stream: a bound on
/// the emulator's lag while the whole suite runs beside it (a CI run once took over 10 s),
/// not a latency target; those are the bench's.
pub(super) const STREAM_LAG: Duration = Duration::from_secs(30);

pub(super) async fn survey(app: &TestApp, cid: &str, user: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let reply = app
            .get(
                &format!("/v1/conversations/{cid}/messages"),
                &app.token(Role::EndUser, user),
            )
            .await;
        let found = reply.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| {
                m["client_message_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("system.csat-request."))
            })
            .cloned();
        if found.is_some() || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn rate(app: &TestApp, cid: &str, user: &str, body: Value) -> Reply {
    app.post(
        &format!("/v1/conversations/{cid}/csat"),
        &app.token(Role::EndUser, user),
        body,
    )
    .await
}

pub(super) async fn set_csat(app: &TestApp, on: bool) {
    let reply = app
        .patch_settings(
            &app.token(Role::Admin, "admin-1"),
            json!({"messaging": {"csat_on_session_end": on}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn an_ended_session_brings_one_survey_and_one_rating() {
    let app = TestApp::start_live().await;
    set_csat(&app, true).await;
    agent(&app, "ag-1", 3, &[], "online").await;
    let cid = ended_conversation(&app, "eu-1", "ag-1").await;
    let found = survey(&app, &cid, "eu-1", STREAM_LAG)
        .await
        .expect("the survey follows the end");
    assert_eq!(found["type"], "system");
    let payloads: Vec<&str> = found["rich"]["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["payload"].as_str().unwrap())
        .collect();
    assert_eq!(
        payloads,
        [
            "relay:csat:1",
            "relay:csat:2",
            "relay:csat:3",
            "relay:csat:4",
            "relay:csat:5"
        ]
    );
    // Right after the session's end notice, and only once.
    let stored = app.stored_messages(&cid).await;
    let notice = stored
        .iter()
        .position(|m| m.client_message_id.starts_with("system.session-ended."))
        .unwrap();
    assert!(stored[notice + 1]
        .client_message_id
        .starts_with("system.csat-request."));
    assert_eq!(
        stored
            .iter()
            .filter(|m| m.client_message_id.starts_with("system.csat-request."))
            .count(),
        1
    );

    for bad in [
        json!({"score": 0}),
        json!({"score": 6}),
        json!({"score": 3, "comment": "x".repeat(1001)}),
    ] {
        let reply = rate(&app, &cid, "eu-1", bad).await;
        assert_eq!(reply.error_code(), "invalid_field", "{:?}", reply.body);
    }
    let wrong_type = rate(&app, &cid, "eu-1", json!({"score": "five"})).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    // Another end user cannot rate it; neither can staff.
    let foreign = rate(&app, &cid, "mallory", json!({"score": 1})).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let staff = app
        .post(
            &format!("/v1/conversations/{cid}/csat"),
            &app.token(Role::Agent, "ag-1"),
            json!({"score": 5}),
        )
        .await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);

    let rated = rate(
        &app,
        &cid,
        "eu-1",
        json!({"score": 4, "comment": "quick and kind"}),
    )
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{:?}", rated.body);
    assert_eq!(rated.body["score"], 4);
    let again = rate(&app, &cid, "eu-1", json!({"score": 5})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "already_rated");
    let request = app
        .backend
        .store
        .latest_csat_request(&app.account.id, &cid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (request.score, request.comment.as_deref()),
        (Some(4), Some("quick and kind"))
    );
}

#[tokio::test]
async fn no_survey_is_sent_or_answerable_while_the_setting_is_off() {
    let app = TestApp::start_live().await;
    set_csat(&app, false).await;
    agent(&app, "ag-1", 3, &[], "online").await;
    let cid = ended_conversation(&app, "eu-1", "ag-1").await;
    // The end notice reached the end user, and no survey came with it.
    assert!(survey(&app, &cid, "eu-1", Duration::from_secs(2))
        .await
        .is_none());
    let reply = rate(&app, &cid, "eu-1", json!({"score": 5})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "no_survey");
    // Turned on, the next ended session brings one (the stream was running all along).
    set_csat(&app, true).await;
    let cid = ended_conversation(&app, "eu-2", "ag-1").await;
    assert!(survey(&app, &cid, "eu-2", STREAM_LAG).await.is_some());
}

#[tokio::test]
async fn the_report_counts_and_averages_the_ratings_of_its_range() {
    let app = TestApp::start_live().await;
    set_csat(&app, true).await;
    agent(&app, "ag-1", 5, &[], "online").await;
    let before = domain::rfc3339(domain::now_ms() - 1);
    let mut rated = Vec::new();
    for (user, score) in [("eu-1", 5), ("eu-2", 4), ("eu-3", 4), ("eu-4", 1)] {
        let cid = ended_conversation(&app, user, "ag-1").await;
        assert!(survey(&app, &cid, user, STREAM_LAG).await.is_some());
        let reply = rate(&app, &cid, user, json!({"score": score})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        rated.push(score);
    }
    // Surveyed, not rated: not a response.
    let cid = ended_conversation(&app, "eu-5", "ag-1").await;
    assert!(survey(&app, &cid, "eu-5", STREAM_LAG).await.is_some());

    let admin = app.token(Role::Admin, "admin-1");
    let reply = app
        .get(
            &format!("/v1/reports/csat?from={}", urlencode(&before)),
            &admin,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["responses"], 4);
    assert_eq!(reply.body["average"], 3.5);
    assert_eq!(
        reply.body["distribution"],
        json!({"1": 1, "2": 0, "3": 0, "4": 2, "5": 1})
    );
    // A range before the ratings holds none of them.
    let empty = app
        .get("/v1/reports/csat?from=2020-01-01&to=2020-12-31", &admin)
        .await;
    assert_eq!(empty.body["responses"], 0);
    assert_eq!(empty.body["average"], Value::Null);
    let bad = app.get("/v1/reports/csat?from=last-week", &admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let agent_reads = app
        .get("/v1/reports/csat", &app.token(Role::Agent, "ag-1"))
        .await;
    assert_eq!(agent_reads.status, StatusCode::FORBIDDEN);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
