//! Reports (#38) end to end on the emulator, with the fan-out reading the change stream: a
//! scripted day of two agents in two groups gives exactly the expected counts and times; the
//! same stream replayed changes nothing; the API refuses what it cannot answer.

use std::time::Duration;

use adapters::dynamo::stream::DynamoStreamFeed;
use domain::model::{Priority, Role};
use integration_tests::agents::{accept, agent, offered_to, set_status, waiting};
use integration_tests::{json, provisioned, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::ports::ChangeFeed;
use use_cases::stream_reactions::{react, Reaction};

use super::csat::{rate, set_csat, survey, STREAM_LAG};

/// The report as an admin reads it, once `ready` holds of it (or as it is after `STREAM_LAG`).
pub(super) async fn report_when(
    app: &TestApp,
    query: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + STREAM_LAG;
    loop {
        let reply = app
            .get(
                &format!("/v1/reports/messaging?{query}"),
                &app.token(Role::Admin, "boss"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        if ready(&reply.body) || tokio::time::Instant::now() >= deadline {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn row<'a>(report: &'a Value, field: &str, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[field] == key)
        .unwrap_or_else(|| panic!("no row {field}={key} in {report}"))
}

/// Posts a text as agent `agent_id` in `cid`.
async fn agent_says(app: &TestApp, cid: &str, agent_id: &str, id: &str) {
    let token = app.token(Role::Agent, agent_id);
    let reply = app.send_text(cid, &token, id, "Here is how").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

/// Ana (billing) takes a conversation, answers once, ends the session and solves the ticket: a
/// one-touch resolution, rated 5. Bruno (sales) answers twice and ends his session without
/// solving. Then Ana's end
/// user writes again: a second session starts.
#[tokio::test]
async fn a_scripted_day_counts_once_per_agent_and_group_and_a_replay_changes_nothing() {
    let app = TestApp::start_live().await;
    let stream = DynamoStreamFeed::start(
        aws_sdk_dynamodbstreams::Client::new(&integration_tests::emulator_config().await),
        &provisioned().await.table_stream_arn,
    )
    .await
    .unwrap();
    set_csat(&app, true).await;
    agent(&app, "ana", 3, &["billing"], "online").await;
    agent(&app, "bruno", 3, &["sales"], "online").await;

    let c1 = waiting(&app, "eu-1", Priority::Normal, Some("billing")).await;
    let c2 = waiting(&app, "eu-2", Priority::Normal, Some("sales")).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &c1).await.as_deref(), Some("ana"));
    assert_eq!(offered_to(&app, &c2).await.as_deref(), Some("bruno"));
    assert_eq!(accept(&app, "ana", &c1).await.status, StatusCode::OK);
    assert_eq!(accept(&app, "bruno", &c2).await.status, StatusCode::OK);
    agent_says(&app, &c1, "ana", "a-1").await;
    agent_says(&app, &c2, "bruno", "b-1").await;
    agent_says(&app, &c2, "bruno", "b-2").await;
    for (cid, who) in [(&c1, "ana"), (&c2, "bruno")] {
        let ended = app
            .post(
                &format!("/v1/conversations/{cid}/end"),
                &app.token(Role::Agent, who),
                json!({}),
            )
            .await;
        assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    }
    // Ana also solves her ticket once its session is over.
    let closed = app
        .post(
            &format!("/v1/conversations/{c1}/close"),
            &app.token(Role::Agent, "ana"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    survey(&app, &c1, "eu-1", STREAM_LAG)
        .await
        .expect("the survey follows the close");
    assert_eq!(
        rate(&app, &c1, "eu-1", json!({"score": 5})).await.status,
        StatusCode::CREATED
    );
    let again = app
        .send_text(
            &c1,
            &app.token(Role::EndUser, "eu-1"),
            "eu-again",
            "One more thing",
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);

    let complete = |r: &Value| {
        r["total"]["conversations_started"] == 3
            && r["total"]["csat"]["responses"] == 1
            && r["total"]["handle_time"]["count"] == 2
    };
    let by_agent = report_when(&app, "group_by=agent", complete).await;
    assert!(complete(&by_agent), "{by_agent}");
    let ana = row(&by_agent, "agent_id", "ana");
    assert_eq!(ana["solved_by_agents"], 1, "{ana}");
    assert_eq!(ana["one_touch_resolutions"], 1, "{ana}");
    assert_eq!(ana["first_reply"]["count"], 1, "{ana}");
    assert_eq!(ana["wait_to_accept"]["count"], 1, "{ana}");
    assert_eq!(ana["csat"]["responses"], 1);
    assert_eq!(ana["csat"]["average"], 5.0);
    let bruno = row(&by_agent, "agent_id", "bruno");
    assert_eq!(bruno["solved_by_agents"], 0, "{bruno}");
    assert_eq!(bruno["one_touch_resolutions"], 0, "{bruno}");
    assert_eq!(
        bruno["first_reply"]["count"], 1,
        "only the first reply counts: {bruno}"
    );
    assert_eq!(bruno["handle_time"]["count"], 1, "{bruno}");
    // Times a user would check against the clock: each first reply within the test's minute.
    let first_reply = bruno["first_reply"]["p50_ms"].as_i64().unwrap();
    assert!((0..60_000).contains(&first_reply), "{bruno}");
    let total = &by_agent["total"];
    assert_eq!(total["handoffs"], 2, "{total}");
    assert_eq!(total["bot_resolutions"], 0, "{total}");

    let by_group = report_when(&app, "group_by=group", |_| true).await;
    // The API sets a group after creation: each start counts under its handoff's group
    // (Ana's second session starts in billing), and nothing is left under no group.
    assert_eq!(
        row(&by_group, "group", "billing")["conversations_started"],
        2
    );
    assert_eq!(row(&by_group, "group", "sales")["conversations_started"], 1);
    assert_eq!(by_group["rows"].as_array().unwrap().len(), 2, "{by_group}");
    assert_eq!(row(&by_group, "group", "billing")["solved_by_agents"], 1);
    assert_eq!(row(&by_group, "group", "sales")["handoffs"], 1);
    assert_eq!(row(&by_group, "group", "sales")["solved_by_agents"], 0);
    let by_day = report_when(&app, "group_by=day", |_| true).await;
    assert_eq!(
        by_day["rows"].as_array().unwrap().len(),
        31,
        "every day of the default range"
    );
    assert_eq!(by_day["total"], by_agent["total"]);

    // The same stream again, every change of this account through the reports' reaction.
    let mut changes = Vec::new();
    loop {
        let read = stream
            .next_changes(Duration::from_millis(500))
            .await
            .unwrap();
        if read.is_empty() {
            break;
        }
        changes.extend(read);
    }
    let ours: Vec<_> = changes
        .into_iter()
        .filter(|c| {
            c.after
                .as_ref()
                .or(c.before.as_ref())
                .is_some_and(|s| s.account_id() == app.account.id)
        })
        .collect();
    assert!(ours.len() > 20, "{} changes", ours.len());
    for change in &ours {
        let reacted = react(&app.backend, change, &[Reaction::Reports], domain::now_ms()).await;
        assert!(reacted.failed.is_empty(), "{:?}", reacted.failed);
    }
    let replayed = report_when(&app, "group_by=agent", |_| true).await;
    assert_eq!(replayed, by_agent, "a replay counted something twice");
}

/// Ana lets her offer time out and goes offline; Bruno accepts, answers, and transfers to
/// Carla, who answers and ends the session. The timeout is Ana's; the wait and the first reply
/// are Bruno's, once (a transfer restarts neither); the handle time is Carla's.
#[tokio::test]
async fn a_timed_out_offer_and_a_transfer_count_for_the_agents_they_happened_to() {
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "boss");
    let quick = app
        .patch_settings(&admin, json!({"routing": {"offer_timeout_seconds": 1}}))
        .await;
    assert_eq!(quick.status, StatusCode::OK, "{:?}", quick.body);
    agent(&app, "ana", 2, &["billing"], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, Some("billing")).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ana"));
    // Past the offer's expiry: whichever withdraws it (its timeout, or Ana going offline),
    // it ran out unaccepted.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    set_status(&app, "ana", "offline").await;
    // Every later offer waits as long as a person needs: on a loaded machine a one-second
    // offer may run out before its accept, and then it too would count (a CI run counted 2).
    let patient = app
        .patch_settings(&admin, json!({"routing": {"offer_timeout_seconds": 60}}))
        .await;
    assert_eq!(patient.status, StatusCode::OK, "{:?}", patient.body);
    agent(&app, "bruno", 2, &["billing"], "online").await;
    agent(&app, "carla", 2, &["billing"], "online").await;
    let deadline = tokio::time::Instant::now() + STREAM_LAG;
    while offered_to(&app, &cid).await.is_none_or(|a| a == "ana") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never offered again"
        );
        app.run_router().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let taker = offered_to(&app, &cid).await.unwrap_or_default();
    let other = if taker == "bruno" { "carla" } else { "bruno" };
    assert_eq!(accept(&app, &taker, &cid).await.status, StatusCode::OK);
    agent_says(&app, &cid, &taker, "t-1").await;
    let moved = app
        .post(
            &format!("/v1/conversations/{cid}/transfer"),
            &app.token(Role::Agent, &taker),
            json!({"agent_id": other}),
        )
        .await;
    assert!(moved.status.is_success(), "{:?}", moved.body);
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some(other));
    assert_eq!(accept(&app, other, &cid).await.status, StatusCode::OK);
    agent_says(&app, &cid, other, "o-1").await;
    let ended = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, other),
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);

    let complete = |r: &Value| r["total"]["handle_time"]["count"] == 1;
    let by_agent = report_when(&app, "group_by=agent", complete).await;
    assert!(complete(&by_agent), "{by_agent}");
    let total = &by_agent["total"];
    assert_eq!(total["offers_timed_out"], 1, "{total}");
    assert_eq!(total["handoffs"], 1, "{total}");
    assert_eq!(total["wait_to_accept"]["count"], 1, "one wait: {total}");
    assert_eq!(total["first_reply"]["count"], 1, "one first reply: {total}");
    let ana = row(&by_agent, "agent_id", "ana");
    assert_eq!(ana["offers_timed_out"], 1, "{ana}");
    let taker_row = row(&by_agent, "agent_id", &taker);
    assert_eq!(taker_row["wait_to_accept"]["count"], 1, "{taker_row}");
    assert_eq!(taker_row["first_reply"]["count"], 1, "{taker_row}");
    assert_eq!(taker_row["handle_time"]["count"], 0, "{taker_row}");
    let other_row = row(&by_agent, "agent_id", other);
    assert_eq!(other_row["first_reply"]["count"], 0, "{other_row}");
    assert_eq!(other_row["wait_to_accept"]["count"], 0, "{other_row}");
    assert_eq!(other_row["handle_time"]["count"], 1, "{other_row}");
}

#[tokio::test]
async fn the_report_is_for_admins_in_the_account_zone_and_refuses_what_it_cannot_answer() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "boss");
    let paris = app
        .patch_settings(
            &admin,
            json!({"business_hours": {"timezone": "Europe/Paris"}}),
        )
        .await;
    assert_eq!(paris.status, StatusCode::OK, "{:?}", paris.body);
    let ok = app
        .get(
            "/v1/reports/messaging?from=2026-03-01&to=2026-03-31&tz=Europe/Paris",
            &admin,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["tz"], "Europe/Paris");
    assert_eq!(ok.body["rows"].as_array().unwrap().len(), 31);
    assert_eq!(ok.body["rows"][0]["day"], "2026-03-01");
    assert_eq!(ok.body["percentile_relative_error"], 0.02);
    for (query, status, code) in [
        ("tz=UTC", 422, "tz_mismatch"),
        ("tz=Mars/Olympus", 400, "invalid_request"),
        ("from=2026-03-02&to=2026-03-01", 422, "invalid_report_range"),
        ("from=2025-01-01&to=2026-03-01", 422, "invalid_report_range"),
        ("from=yesterday", 400, "invalid_request"),
        ("group_by=week", 400, "invalid_request"),
    ] {
        let reply = app
            .get(&format!("/v1/reports/messaging?{query}"), &admin)
            .await;
        assert_eq!(reply.status.as_u16(), status, "{query}: {:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{query}");
    }
    let agent = app
        .get("/v1/reports/messaging", &app.token(Role::Agent, "ana"))
        .await;
    assert_eq!(agent.status, StatusCode::FORBIDDEN);
    let csv = reqwest::Client::new()
        .get(format!(
            "{}/v1/reports/messaging?from=2026-03-01&to=2026-03-02",
            app.base_url
        ))
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("day,conversations_started,handoffs,"),
        "{text}"
    );
    assert_eq!(
        &lines[1..],
        [
            "2026-03-01,0,0,0,0,,,0,,,0,,0,0,0,0,",
            "2026-03-02,0,0,0,0,,,0,,,0,,0,0,0,0,"
        ]
    );
}
