//! The settings API's history and effects on the emulator (R1–R11): the audit chain, readiness,
//! who may reach settings, and what enabling messaging does to live chats.

use std::time::Duration;

use super::settings_api::admin;
use domain::model::{Role, SessionState, TicketStatus};
use domain::settings::verify_chain;
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn audit_chain_verifies_and_tampering_is_detected() {
    let app = TestApp::start().await;
    let a = admin(&app);
    a.set(json!({"bot": {"enabled": false}})).await;
    a.set(json!({"routing": {"method": "round_robin"}})).await;
    a.set(json!({"attachments": {"enabled": false}, "bot": null}))
        .await;
    let entries = a.audit().await;
    assert_eq!(
        entries.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(verify_chain(&entries), Ok(()));
    assert_eq!(entries[0].actor, "admin-1");
    let change = &entries[2].changes["attachments.enabled"];
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (json!(true), json!(false))
    );
    assert_eq!(entries[2].changes["bot.enabled"].after, json!(true));

    // Someone rewrites history in the table: entry 2 now claims another actor.
    let mut forged = entries[1].clone();
    forged.actor = "mallory".into();
    let ddb = aws_sdk_dynamodb::Client::new(&integration_tests::emulator_config().await);
    ddb.put_item()
        .table_name(&integration_tests::provisioned().await.table_name)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("A#{}#AUDIT", app.account.id)),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("V#000000000002".into()),
        )
        .item(
            "entry",
            aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(&forged).unwrap()),
        )
        .send()
        .await
        .unwrap();
    let tampered = a.audit().await;
    assert_eq!(tampered[1].actor, "mallory");
    assert_eq!(verify_chain(&tampered), Err(2));
}

#[tokio::test]
async fn readiness_lists_required_and_recommended_items_from_the_store() {
    let app = TestApp::start().await;
    let a = admin(&app);
    let reply = app.get("/v1/settings/messaging-readiness", &a.token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["ready"], false);
    let items = reply.body["items"].as_array().unwrap();
    let item = |name: &str| items.iter().find(|i| i["name"] == name).unwrap().clone();
    assert_eq!(item("agent_workspace")["ok"], true);
    assert_eq!(item("agent_workspace")["level"], "required");
    assert_eq!(item("groups")["ok"], false);
    assert_eq!(item("routing")["ok"], false);
    assert_eq!(item("help_center")["level"], "recommended");
    assert!(item("groups")["explanation"].as_str().unwrap().len() > 10);

    app.send_raw(
        Method::PUT,
        "/v1/settings/workspace",
        Some(&a.token),
        Some(
            json!({"groups": ["billing", "tech"], "help_center_articles": 3})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    // Choosing a routing method is not enough: routing needs someone with messaging capacity.
    a.set(json!({"routing": {"method": "highest_spare_capacity"}}))
        .await;
    let reply = app.get("/v1/settings/messaging-readiness", &a.token).await;
    assert_eq!(reply.body["ready"], false);
    integration_tests::agents::agent(&app, "ag-1", 2, &[], "offline").await;
    let reply = app.get("/v1/settings/messaging-readiness", &a.token).await;
    assert_eq!(reply.body["ready"], true);
    let items = reply.body["items"].as_array().unwrap();
    let item = |name: &str| items.iter().find(|i| i["name"] == name).unwrap().clone();
    assert_eq!(item("routing")["ok"], true);
    // R11's recommended threshold: 3 articles are not enough, 10 are.
    assert_eq!(item("help_center")["ok"], false);
    for (articles, ok) in [(9, false), (10, true)] {
        app.send_raw(
            Method::PUT,
            "/v1/settings/workspace",
            Some(&a.token),
            Some(
                json!({"groups": ["billing"], "help_center_articles": articles})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
        let reply = app.get("/v1/settings/messaging-readiness", &a.token).await;
        let items = reply.body["items"].as_array().unwrap();
        let help = items.iter().find(|i| i["name"] == "help_center").unwrap();
        assert_eq!(help["ok"], ok, "{articles} articles");
        // Recommended only: readiness does not depend on it.
        assert_eq!(reply.body["ready"], true);
    }
    // Without the agent workspace, messaging is not ready.
    a.set(json!({"messaging": {"enabled": false}})).await;
    a.set(json!({"agent_workspace": {"enabled": false}})).await;
    let reply = app.get("/v1/settings/messaging-readiness", &a.token).await;
    assert_eq!(reply.body["ready"], false);
    let items = reply.body["items"].as_array().unwrap();
    let workspace = items
        .iter()
        .find(|i| i["name"] == "agent_workspace")
        .unwrap();
    assert_eq!(workspace["ok"], false);
}

#[tokio::test]
async fn only_admins_of_the_account_reach_settings() {
    let app = TestApp::start().await;
    for role in [Role::EndUser, Role::Agent] {
        let token = app.token(role, "someone");
        for path in [
            "/v1/settings",
            "/v1/settings/audit",
            "/v1/settings/messaging-readiness",
            "/v1/settings/workspace",
        ] {
            let reply = app.get(path, &token).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
        let reply = app
            .send_raw(
                Method::PATCH,
                "/v1/settings",
                Some(&token),
                Some(b"{}".to_vec()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    // Another account's admin changes only its own account.
    let other = app.other_account.token(Role::Admin, "admin-9");
    let reply = reqwest::Client::new()
        .patch(format!("{}/v1/settings", app.base_url))
        .bearer_auth(&other)
        .header("if-match", "0")
        .body(json!({"bot": {"enabled": false}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let mine = admin(&app).get().await;
    assert_eq!(mine.body["version"], 0);
    assert_eq!(mine.body["settings"]["bot"]["enabled"], true);
}

#[tokio::test]
async fn enabling_messaging_ends_live_chats_once_and_keeps_their_tickets_pending() {
    let app = TestApp::start().await;
    let a = admin(&app);
    a.set(json!({"messaging": {"enabled": false}})).await;
    let alice = app.token(Role::EndUser, "alice");
    let mut chats = Vec::new();
    // More than one page of R3's 25, so the worker's re-queued continuation is exercised.
    for i in 0..30 {
        let cid = app.new_conversation(&format!("user-{i}")).await;
        assert_eq!(
            app.stored_conversation(&cid).await.channel,
            domain::model::Channel::Chat
        );
        chats.push(cid);
    }
    let alices = app.new_conversation("alice").await;
    app.send_text(&alices, &alice, "m1", "hello from live chat")
        .await;
    chats.push(alices.clone());

    a.set(json!({"messaging": {"enabled": true}})).await;
    // The in-process worker ends them through the queue.
    let mut ended = false;
    for _ in 0..100 {
        let mut all = true;
        for cid in &chats {
            all &= app.stored_conversation(cid).await.session == SessionState::Ended;
        }
        if all {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "live chats were not ended");
    for cid in &chats {
        assert_eq!(
            app.stored_conversation(cid).await.ticket_status,
            TicketStatus::Pending
        );
        // Ended once: one end-of-session notice each.
        let notices = app
            .stored_messages(cid)
            .await
            .into_iter()
            .filter(|m| m.kind == domain::model::MessageKind::System)
            .count();
        assert_eq!(notices, 1, "{cid}");
    }
    // Nothing is lost, and the end user is told the chat ended.
    let history = app
        .get(&format!("/v1/conversations/{alices}/messages"), &alice)
        .await;
    assert_eq!(history.body["messages"][1]["type"], "system");
    assert_eq!(history.body["messages"][1]["author"]["role"], "system");
    assert!(history.body["messages"][1]["text"]
        .as_str()
        .unwrap()
        .contains("ended"));
    assert_eq!(history.body["messages"][0]["text"], "hello from live chat");
    // The outbox is cleared once done.
    for _ in 0..50 {
        if app
            .backend
            .store
            .pending_effects(&app.account.id)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app
        .backend
        .store
        .pending_effects(&app.account.id)
        .await
        .unwrap()
        .is_empty());

    // A redelivered effect message ends nothing twice.
    let revisions: Vec<u64> = {
        let mut r = Vec::new();
        for cid in &chats {
            r.push(app.stored_conversation(cid).await.revision);
        }
        r
    };
    let job = json!({"account_id": app.account.id, "version": 2, "effect": "end_live_chats", "requested_at": 0});
    use_cases::settings_effects::process_effect(&app.backend, &job.to_string())
        .await
        .unwrap();
    for (cid, revision) in chats.iter().zip(revisions) {
        assert_eq!(app.stored_conversation(cid).await.revision, revision);
        let system = app
            .stored_messages(cid)
            .await
            .into_iter()
            .filter(|m| m.kind == domain::model::MessageKind::System)
            .count();
        assert_eq!(system, 1, "{cid}");
    }
    // A malformed effect message is reported as failed, never panics.
    let batch = vec![use_cases::ports::ReceivedMessage {
        message_id: "m-1".into(),
        receipt: "r".into(),
        body: "{not json".into(),
        receive_count: 1,
    }];
    assert_eq!(
        update_settings::handle_effects(&app.backend, &batch).await,
        vec!["m-1".to_string()]
    );
}
