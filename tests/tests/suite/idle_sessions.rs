//! Idle auto-end (#17 item 7, spec "Satisfaction and hours"), on the emulator: an end user's
//! message schedules an idle check delayed by `messaging.idle_timeout_minutes` on the routing
//! queue (SQS delays, hopping at 15 minutes); the check ends a session nobody wrote in for
//! that long through R21's step (notice, CSAT, capacity released), and nothing else. Time is
//! injected where waiting would take minutes: the check is judged at a given instant.

use std::sync::Arc;
use std::time::Duration;

use domain::idle_sessions::{IdleCheck, IdleVerdict, MAX_CHECK_DELAY_SECONDS};
use domain::model::{AuthorRole, Control, Message, Priority, Role, SessionState};
use domain::realtime::{Stored, StoredChange};
use integration_tests::agents::{accept, agent, load, offered_to, waiting};
use integration_tests::{json, RecordingQueue, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

async fn set(app: &TestApp, patch: Value) {
    app.patch_settings(&app.token(Role::Admin, "admin-1"), patch)
        .await;
}

/// Sends `text` as end user `user` and answers the message as stored.
async fn end_user_says(app: &TestApp, cid: &str, user: &str, id: &str) -> Message {
    let reply = app
        .send_text(cid, &app.token(Role::EndUser, user), id, "are you there?")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    app.stored_messages(cid)
        .await
        .into_iter()
        .find(|m| m.client_message_id == id)
        .expect("the message is stored")
}

/// What the fan-out queues for `message` (a new message's change), with the routing queue
/// recorded.
async fn scheduled_for(app: &TestApp, message: &Message) -> Vec<(String, u32)> {
    let recorder = Arc::new(RecordingQueue::default());
    let mut backend = app.backend.clone();
    backend.routing_queue = recorder.clone();
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message.clone()))),
    };
    use_cases::stream_reactions::fan_out(&backend, &[change], message.created_at)
        .await
        .expect("fan-out");
    let sent = recorder.sent.lock().unwrap().clone();
    sent
}

#[tokio::test]
async fn an_end_user_message_schedules_its_idle_check_delayed_by_the_timeout() {
    let app = TestApp::start().await;
    set(&app, json!({"bot": {"enabled": false}})).await;
    let cid = app.new_conversation("alice").await;
    let message = end_user_says(&app, &cid, "alice", "m1").await;
    // Off by default: nothing is scheduled.
    assert!(scheduled_for(&app, &message).await.is_empty());

    set(&app, json!({"messaging": {"idle_timeout_minutes": 1}})).await;
    let sent = scheduled_for(&app, &message).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (body, delay) = &sent[0];
    assert_eq!(*delay, 60);
    let check: IdleCheck = serde_json::from_str(body).unwrap();
    assert_eq!(Some(check), IdleCheck::after(&message));

    // A timeout past SQS's longest delay hops: the first check comes back after 15 minutes.
    set(&app, json!({"messaging": {"idle_timeout_minutes": 120}})).await;
    assert_eq!(
        scheduled_for(&app, &message).await[0].1,
        MAX_CHECK_DELAY_SECONDS
    );

    // Only the end user's messages count: an agent's reply schedules no idle check (the timer
    // it does schedule on the same queue is R35's email check).
    let mut reply = message.clone();
    reply.author_role = AuthorRole::Agent;
    reply.author_id = "ag-1".into();
    let sent = scheduled_for(&app, &reply).await;
    assert!(
        sent.iter()
            .all(|(body, _)| serde_json::from_str::<IdleCheck>(body).is_err()),
        "{sent:?}"
    );
    assert_eq!(sent.len(), 1, "{sent:?}");
    let followup: domain::email::outbound::EmailFollowup =
        serde_json::from_str(&sent[0].0).unwrap();
    assert_eq!(
        Some(followup),
        domain::email::outbound::EmailFollowup::after(&reply)
    );
}

#[tokio::test]
async fn an_idle_session_is_ended_by_the_system_as_an_agents_end_is() {
    let app = TestApp::start_live().await;
    set(
        &app,
        json!({"messaging": {"idle_timeout_minutes": 5, "csat_on_session_end": true}}),
    )
    .await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = waiting(&app, "bob", Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-1"));
    assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
    assert_eq!(load(&app, "ag-1").await, (1, 0));
    let message = end_user_says(&app, &cid, "bob", "m1").await;
    let check = IdleCheck::after(&message).unwrap();
    let minute = 60_000;

    // A minute early: checked again for what is left, and the session runs on.
    let early = route_conversation::handle_idle_check(
        &app.backend,
        &check,
        message.created_at + 4 * minute,
    )
    .await
    .unwrap();
    assert_eq!(early, IdleVerdict::CheckAgainIn(60));
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        SessionState::Active
    );

    // Five minutes without a word from the end user: ended, as R21 says.
    let due = route_conversation::handle_idle_check(
        &app.backend,
        &check,
        message.created_at + 5 * minute,
    )
    .await
    .unwrap();
    assert_eq!(due, IdleVerdict::End);
    let conversation = app.stored_conversation(&cid).await;
    assert_eq!(conversation.session, SessionState::Ended);
    assert_eq!(conversation.control, Control::Bot);
    assert_eq!(load(&app, "ag-1").await, (0, 0), "capacity released");
    let notices: Vec<Message> = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .filter(|m| m.client_message_id == "system.session-ended.s1")
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0]
        .text
        .as_deref()
        .unwrap()
        .contains("after 5 minutes without a message from you"));
    // R6: the survey follows the notice (from the change stream).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app
        .stored_messages(&cid)
        .await
        .iter()
        .any(|m| m.client_message_id == "system.csat-request.s1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no survey after the idle end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The same check again (SQS delivers at least once) ends nothing twice.
    let again = route_conversation::handle_idle_check(
        &app.backend,
        &check,
        message.created_at + 6 * minute,
    )
    .await
    .unwrap();
    assert!(matches!(again, IdleVerdict::Drop(_)), "{again:?}");
    assert_eq!(
        app.stored_messages(&cid)
            .await
            .iter()
            .filter(|m| m.client_message_id.starts_with("system.session-ended."))
            .count(),
        1
    );
    // R22: the end user's next message starts a new session.
    end_user_says(&app, &cid, "bob", "m2").await;
    let conversation = app.stored_conversation(&cid).await;
    assert_eq!(
        (conversation.session, conversation.session_no),
        (SessionState::Active, 2)
    );
}

#[tokio::test]
async fn an_end_user_who_writes_again_keeps_the_session_open_until_the_last_message_idles() {
    let app = TestApp::start().await;
    set(&app, json!({"messaging": {"idle_timeout_minutes": 10}})).await;
    let cid = app.new_conversation("carol").await;
    let first = end_user_says(&app, &cid, "carol", "m1").await;
    let second = end_user_says(&app, &cid, "carol", "m2").await;
    let late = second.created_at + 11 * 60_000;
    let stale = IdleCheck::after(&first).unwrap();
    let verdict = route_conversation::handle_idle_check(&app.backend, &stale, late)
        .await
        .unwrap();
    assert_eq!(verdict, IdleVerdict::Drop("the end user wrote again"));
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        SessionState::Active
    );
    // Turned off in the meantime: the last check does nothing either.
    let last = IdleCheck::after(&second).unwrap();
    set(&app, json!({"messaging": {"idle_timeout_minutes": null}})).await;
    let verdict = route_conversation::handle_idle_check(&app.backend, &last, late)
        .await
        .unwrap();
    assert_eq!(verdict, IdleVerdict::Drop("idle timeout off"));
    set(&app, json!({"messaging": {"idle_timeout_minutes": 10}})).await;
    let verdict = route_conversation::handle_idle_check(&app.backend, &last, late)
        .await
        .unwrap();
    assert_eq!(verdict, IdleVerdict::End);
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        SessionState::Ended
    );
}

#[tokio::test]
async fn idle_checks_ride_the_routing_queue_beside_routing_messages() {
    let app = TestApp::start().await;
    set(&app, json!({"messaging": {"idle_timeout_minutes": 1}})).await;
    let cid = app.new_conversation("dave").await;
    let message = end_user_says(&app, &cid, "dave", "m1").await;
    // A check that comes back after its minute, as SQS brings it back (its message is
    // dated a minute and a second ago), through the router's batch of the routing queue.
    let mut check = IdleCheck::after(&message).unwrap();
    check.message_at = domain::now_ms() - 61_000;
    app.routing_queue
        .send(&serde_json::to_string(&check).unwrap(), 0)
        .await
        .unwrap();
    assert_eq!(app.run_router().await, 0, "no message failed");
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        SessionState::Ended
    );
    // A body that is neither a routing message nor an idle check fails alone (R26).
    app.routing_queue
        .send(
            &json!({"account_id": app.account.id, "conversation_id": cid, "session_no": 1})
                .to_string(),
            0,
        )
        .await
        .unwrap();
    assert_eq!(app.run_router().await, 1);
}
