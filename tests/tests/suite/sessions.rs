//! Ending messaging sessions and closing tickets against the emulator, through HTTP (R4–R6,
//! R17, R20–R22): who may end, the end user's notice, CSAT exactly once, capacity released or
//! moved to email, the next message starting a new session, invalid transitions.

use domain::model::{MessageKind, Priority, Role, TicketStatus};
use domain::sessions::{SESSION_ENDED_KEY, SESSION_ENDED_TEXT, TICKET_SOLVED_TEXT};
use domain::settings::AGENTS_CAN_END_SESSIONS_LAUNCH_MS;
use futures::future::join_all;
use integration_tests::agents::{
    accept, agent, agent_with_capacity, load, offered_to, offers, waiting,
};
use integration_tests::{json, Reply, TestApp};
use reqwest::StatusCode;

async fn end(app: &TestApp, token: &str, cid: &str) -> Reply {
    app.post(&format!("/v1/conversations/{cid}/end"), token, json!({}))
        .await
}

async fn close(app: &TestApp, token: &str, cid: &str) -> Reply {
    app.post(&format!("/v1/conversations/{cid}/close"), token, json!({}))
        .await
}

/// A conversation of end user `user` handed off, routed to `agent_id` and accepted.
async fn assigned_conversation(app: &TestApp, user: &str, agent_id: &str) -> String {
    let cid = waiting(app, user, Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(app, &cid).await.as_deref(), Some(agent_id));
    let reply = accept(app, agent_id, &cid).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    cid
}

/// The conversation's messages as its end user reads them.
async fn history(app: &TestApp, user: &str, cid: &str) -> Vec<serde_json::Value> {
    let reply = app
        .get(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::EndUser, user),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["messages"].as_array().unwrap().clone()
}

async fn system_notices(app: &TestApp, cid: &str) -> Vec<String> {
    app.stored_messages(cid)
        .await
        .into_iter()
        .filter(|m| m.kind == MessageKind::System)
        .map(|m| m.text.unwrap_or_default())
        .collect()
}

async fn set(app: &TestApp, patch: serde_json::Value) {
    let reply = app
        .patch_settings(&app.token(Role::Admin, "admin-1"), patch)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn end_by_the_assigned_agent_tells_the_user_hands_back_to_the_bot_and_routes_the_freed_slot()
{
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let agent_token = app.token(Role::Agent, "ag-1");
    assert_eq!(
        app.send_text(&cid, &agent_token, "a-1", "Hello, how can I help?")
            .await
            .status,
        StatusCode::CREATED
    );
    // A second conversation waits: the agent is full.
    let next = waiting(&app, "eu-2", Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(&app, &next).await, None);

    let reply = end(&app, &agent_token, &cid).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["session"], "ended");
    assert_eq!(reply.body["control"], "bot");

    let seen = app
        .get(
            &format!("/v1/conversations/{cid}"),
            &app.token(Role::EndUser, "eu-1"),
        )
        .await;
    assert_eq!(seen.body["session"], "ended");
    assert_eq!(seen.body["control"], "bot");
    let messages = history(&app, "eu-1", &cid).await;
    let last = messages.last().unwrap();
    assert_eq!(last["type"], "system");
    assert_eq!(last["text"], SESSION_ENDED_TEXT);
    assert_eq!(last["session_no"], 1);
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    // The freed slot goes to the waiting conversation.
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(&app, &next).await.as_deref(), Some("ag-1"));
    assert_eq!(load(&app, "ag-1").await, (1, 0));
}

#[tokio::test]
async fn any_agent_of_the_account_may_end_but_end_users_and_other_tenants_may_not() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;

    let by_owner = end(&app, &app.token(Role::EndUser, "eu-1"), &cid).await;
    assert_eq!(by_owner.status, StatusCode::FORBIDDEN);
    let foreign = app.other_account.token(Role::Agent, "ag-1");
    let by_other_tenant = end(&app, &foreign, &cid).await;
    assert_eq!(by_other_tenant.status, StatusCode::NOT_FOUND);
    assert_eq!(
        close(&app, &foreign, &cid).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing happened.
    let stored = app.stored_conversation(&cid).await;
    assert_eq!(stored.session, domain::model::SessionState::Active);
    assert!(system_notices(&app, &cid).await.is_empty());

    let by_colleague = end(&app, &app.token(Role::Agent, "ag-2"), &cid).await;
    assert_eq!(
        by_colleague.status,
        StatusCode::OK,
        "{:?}",
        by_colleague.body
    );
    assert_eq!(by_colleague.body["changed"], true);
    // Ending again is harmless: 200, nothing more written.
    let again = end(&app, &app.token(Role::Admin, "admin-1"), &cid).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["session"], "ended");
    assert_eq!(again.body["changed"], false);
    assert_eq!(system_notices(&app, &cid).await, vec![SESSION_ENDED_TEXT]);
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    // Malformed bodies and unknown ids are clear 4xx.
    let bad = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, "ag-1"),
            json!({"force": true}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unknown = end(&app, &app.token(Role::Agent, "ag-1"), "c_doesnotexist").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ending_follows_the_setting_and_is_refused_while_it_is_off() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    set(
        &app,
        json!({"messaging": {"agents_can_end_sessions": false}}),
    )
    .await;
    let refused = end(&app, &app.token(Role::Agent, "ag-1"), &cid).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "session_ending_disabled");
    assert_eq!(
        app.stored_conversation(&cid).await.session,
        domain::model::SessionState::Active
    );
    assert_eq!(load(&app, "ag-1").await, (1, 0));
    set(
        &app,
        json!({"messaging": {"agents_can_end_sessions": true}}),
    )
    .await;
    let allowed = end(&app, &app.token(Role::Agent, "ag-1"), &cid).await;
    assert_eq!(allowed.status, StatusCode::OK, "{:?}", allowed.body);
}

#[tokio::test]
async fn legacy_accounts_cannot_end_sessions_until_an_admin_allows_it() {
    let app = TestApp::start().await;
    let mut account = app
        .backend
        .store
        .get_account(&app.account.id)
        .await
        .unwrap()
        .unwrap();
    account.messaging_enabled_at = Some(AGENTS_CAN_END_SESSIONS_LAUNCH_MS - 1);
    app.backend.store.put_account(&account).await.unwrap();
    let cid = app.new_conversation("eu-1").await;
    let refused = end(&app, &app.token(Role::Agent, "ag-1"), &cid).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "session_ending_disabled");
    set(
        &app,
        json!({"messaging": {"agents_can_end_sessions": true}}),
    )
    .await;
    let allowed = end(&app, &app.token(Role::Agent, "ag-1"), &cid).await;
    assert_eq!(allowed.status, StatusCode::OK, "{:?}", allowed.body);
}

#[tokio::test]
async fn csat_is_requested_once_when_the_end_is_retried_and_raced_by_two_agents() {
    let app = TestApp::start().await;
    set(&app, json!({"messaging": {"csat_on_session_end": true}})).await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let other = assigned_conversation(&app, "eu-2", "ag-1").await;
    assert_eq!(load(&app, "ag-1").await, (2, 0));

    let tokens = [
        app.token(Role::Agent, "ag-1"),
        app.token(Role::Agent, "ag-2"),
    ];
    let replies = join_all((0..8).map(|i| end(&app, &tokens[i % 2], &cid))).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["session"], "ended");
    }
    assert_eq!(
        replies.iter().filter(|r| r.body["changed"] == true).count(),
        1
    );
    let requests = app
        .backend
        .store
        .list_csat_requests(&app.account.id, 100)
        .await
        .unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].conversation_id, cid);
    assert_eq!(requests[0].end_user_id, "eu-1");
    assert_eq!(requests[0].agent_id.as_deref(), Some("ag-1"));
    // One end-of-session notice, whatever else a session end writes (the CSAT survey is a
    // second system message with its own key, sent by the fan-out: csat.rs).
    let notices: Vec<String> = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .filter(|m| m.kind == MessageKind::System)
        .map(|m| m.client_message_id)
        .filter(|key| key.starts_with(&format!("system.{SESSION_ENDED_KEY}.")))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    // Released exactly once: the other conversation still holds its slot.
    assert_eq!(load(&app, "ag-1").await, (1, 0));
    assert_eq!(
        app.stored_conversation(&other).await.assignee.as_deref(),
        Some("ag-1")
    );
}

#[tokio::test]
async fn csat_is_not_requested_while_the_setting_is_off() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let reply = end(&app, &app.token(Role::Agent, "ag-1"), &cid).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(app
        .backend
        .store
        .list_csat_requests(&app.account.id, 100)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn email_routing_moves_an_ended_ticket_to_email_capacity_until_it_is_closed() {
    let app = TestApp::start().await;
    set(
        &app,
        json!({"messaging": {"ended_session_routing": "email"}}),
    )
    .await;
    agent_with_capacity(&app, "ag-1", (1, 1), &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let agent_token = app.token(Role::Agent, "ag-1");
    assert_eq!(end(&app, &agent_token, &cid).await.status, StatusCode::OK);
    assert_eq!(load(&app, "ag-1").await, (0, 1));
    let stored = app.stored_conversation(&cid).await;
    assert_eq!(stored.assignee.as_deref(), Some("ag-1"));
    // Closing the ticket releases the email slot too.
    let closed = close(&app, &agent_token, &cid).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(closed.body["ticket_status"], "solved");
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    // Already told the session ended: closing adds no second notice.
    assert_eq!(system_notices(&app, &cid).await, vec![SESSION_ENDED_TEXT]);
}

#[tokio::test]
async fn email_routing_releases_the_slot_when_the_agent_has_no_email_capacity() {
    let app = TestApp::start().await;
    set(
        &app,
        json!({"messaging": {"ended_session_routing": "email"}}),
    )
    .await;
    agent_with_capacity(&app, "ag-1", (1, 0), &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    assert_eq!(
        end(&app, &app.token(Role::Agent, "ag-1"), &cid)
            .await
            .status,
        StatusCode::OK
    );
    // Never above capacity (R24): released rather than moved.
    assert_eq!(load(&app, "ag-1").await, (0, 0));
}

#[tokio::test]
async fn next_end_user_message_after_an_end_starts_a_new_session_and_ticket_under_the_bot() {
    let app = TestApp::start().await;
    set(
        &app,
        json!({"messaging": {"ended_session_routing": "email"}}),
    )
    .await;
    agent_with_capacity(&app, "ag-1", (1, 1), &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let user = app.token(Role::EndUser, "eu-1");
    assert_eq!(
        app.send_text(&cid, &user, "u-1", "my order is late")
            .await
            .status,
        StatusCode::CREATED
    );
    let first_ticket = app.stored_conversation(&cid).await.ticket_id;
    assert_eq!(
        end(&app, &app.token(Role::Agent, "ag-1"), &cid)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(load(&app, "ag-1").await, (0, 1));

    let again = app.send_text(&cid, &user, "u-2", "one more thing").await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(again.body["message"]["session_no"], 2);
    assert_ne!(again.body["message"]["ticket_id"], first_ticket.as_str());
    let seen = app.get(&format!("/v1/conversations/{cid}"), &user).await;
    assert_eq!(seen.body["session"], "active");
    assert_eq!(seen.body["control"], "bot");
    assert_eq!(seen.body["assignee"], serde_json::Value::Null);
    assert_eq!(seen.body["ticket_status"], "new");
    // The previous ticket no longer counts against the agent.
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    // Agents see one history, each message labelled with its session.
    let as_agent = app
        .get(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::Agent, "ag-1"),
        )
        .await;
    let sessions: Vec<(String, u64)> = as_agent.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_string(),
                m["session_no"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sessions,
        vec![
            ("text".to_string(), 1),
            ("system".to_string(), 1),
            ("text".to_string(), 2)
        ]
    );
    // Retrying the first message of the new session does not start a third one.
    let retried = app.send_text(&cid, &user, "u-2", "one more thing").await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(app.stored_conversation(&cid).await.session_no, 2);
}

#[tokio::test]
async fn close_solves_the_ticket_and_the_next_message_opens_a_new_one() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let agent_token = app.token(Role::Agent, "ag-1");
    let closed = close(&app, &agent_token, &cid).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(closed.body["ticket_status"], "solved");
    assert_eq!(closed.body["control"], "bot");
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    let messages = history(&app, "eu-1", &cid).await;
    assert_eq!(messages.last().unwrap()["text"], TICKET_SOLVED_TEXT);
    // Closing again is harmless.
    let again = close(&app, &agent_token, &cid).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["changed"], false);

    let user = app.token(Role::EndUser, "eu-1");
    let reply = app.send_text(&cid, &user, "u-1", "it broke again").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let seen = app.get(&format!("/v1/conversations/{cid}"), &user).await;
    assert_eq!(seen.body["session_no"], 2);
    assert_eq!(seen.body["ticket_status"], "new");
    assert_eq!(seen.body["control"], "bot");
}

#[tokio::test]
async fn stray_requests_after_an_end_or_close_are_refused_and_change_nothing() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    let agent_token = app.token(Role::Agent, "ag-1");
    assert_eq!(close(&app, &agent_token, &cid).await.status, StatusCode::OK);
    let before = app.stored_conversation(&cid).await;

    // A late reply to the end user: 409, not stored, the ticket is not reopened.
    let reply = app
        .send_text(&cid, &agent_token, "late-1", "still there?")
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
    assert_eq!(reply.error_code(), "invalid_transition");
    // A late handoff or accept.
    let handoff = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &app.token(Role::EndUser, "eu-1"),
            json!({}),
        )
        .await;
    assert_eq!(handoff.status, StatusCode::CONFLICT);
    assert_eq!(handoff.error_code(), "invalid_transition");
    let accepted = accept(&app, "ag-1", &cid).await;
    assert_eq!(
        accepted.status,
        StatusCode::OK,
        "a retried accept by the assignee"
    );
    assert_eq!(app.stored_conversation(&cid).await, before);
    let by_other = accept(&app, "ag-2", &cid).await;
    assert_eq!(by_other.status, StatusCode::CONFLICT);
    assert!(offers(&app, "ag-1").await.is_empty());
    // Internal notes on a solved ticket are fine.
    let note = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &agent_token,
            json!({"client_message_id": "n-1", "type": "internal_note", "text": "customer happy"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{:?}", note.body);
    assert_eq!(app.stored_conversation(&cid).await, before);

    // A closed ticket stays closed whatever is asked.
    let mut closed = before.clone();
    closed.ticket_status = TicketStatus::Closed;
    closed.revision += 1;
    app.backend
        .store
        .update_conversation(&closed)
        .await
        .unwrap();
    for reply in [
        close(&app, &agent_token, &cid).await,
        end(&app, &agent_token, &cid).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["ticket_status"], "closed");
        assert_eq!(reply.body["changed"], false);
    }
    assert_eq!(app.stored_conversation(&cid).await, closed);
}

#[tokio::test]
async fn ending_an_offered_or_waiting_conversation_takes_it_out_of_routing() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let offered = waiting(&app, "eu-1", Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(&app, &offered).await.as_deref(), Some("ag-1"));
    let queued = waiting(&app, "eu-2", Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);

    let admin = app.token(Role::Admin, "admin-1");
    assert_eq!(end(&app, &admin, &queued).await.status, StatusCode::OK);
    assert_eq!(end(&app, &admin, &offered).await.status, StatusCode::OK);
    assert!(offers(&app, "ag-1").await.is_empty());
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    // Neither is routed again.
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(&app, &queued).await, None);
    assert_eq!(offered_to(&app, &offered).await, None);
    assert!(app
        .backend
        .store
        .list_waiting(&app.account.id, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(load(&app, "ag-1").await, (0, 0));
}

#[tokio::test]
async fn turning_messaging_on_ends_assigned_live_chats_and_frees_their_agents() {
    let app = TestApp::start().await;
    set(&app, json!({"messaging": {"enabled": false}})).await;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = assigned_conversation(&app, "eu-1", "ag-1").await;
    assert_eq!(
        app.stored_conversation(&cid).await.channel,
        domain::model::Channel::Chat
    );
    assert_eq!(load(&app, "ag-1").await, (1, 0));
    set(&app, json!({"messaging": {"enabled": true}})).await;
    // The gateway's settings-effects worker ends the chat (R3) through its queue.
    let mut ended = false;
    for _ in 0..100 {
        if app.stored_conversation(&cid).await.session == domain::model::SessionState::Ended {
            ended = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ended, "the live chat was not ended");
    assert_eq!(
        app.stored_conversation(&cid).await.ticket_status,
        TicketStatus::Pending
    );
    assert_eq!(load(&app, "ag-1").await, (0, 0));
    assert_eq!(system_notices(&app, &cid).await.len(), 1);
}

/// R14 after the session moved on: an agent's reply retried after the session ended answers
/// the stored reply (200, same seq); a new reply is still refused (409 invalid_transition).
#[tokio::test]
async fn a_reply_retried_after_its_session_ended_answers_the_stored_reply() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
    let token = app.token(Role::Agent, "ag-1");
    let first = app.send_text(&cid, &token, "r-1", "Done, goodbye").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let ended = app
        .post(&format!("/v1/conversations/{cid}/end"), &token, json!({}))
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    let retried = app.send_text(&cid, &token, "r-1", "Done, goodbye").await;
    assert_eq!(retried.status, StatusCode::OK, "{:?}", retried.body);
    assert_eq!(retried.body["message"]["seq"], first.body["message"]["seq"]);
    let other_body = app.send_text(&cid, &token, "r-1", "Something else").await;
    assert_eq!(other_body.error_code(), "idempotency_conflict");
    let new_reply = app.send_text(&cid, &token, "r-2", "One more").await;
    assert_eq!(new_reply.error_code(), "invalid_transition");
}
