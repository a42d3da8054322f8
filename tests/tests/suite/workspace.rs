//! The agent workspace on the emulator (spec "Agent workspace"): inbox views and their
//! paging, priority and group through PATCH, transfer under concurrency (R24), the end
//! user's profile from their token, the ticket's history, an end user's conversations.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use domain::model::{Priority, Role};
use integration_tests::agents::{accept, agent, load, offered_to, offers, waiting};
use integration_tests::{json, Reply, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["conversations"]
        .as_array()
        .unwrap_or_else(|| panic!("no conversations in {:?}", reply.body))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn inbox(app: &TestApp, token: &str, view: &str) -> Reply {
    app.get(&format!("/v1/inbox?view={view}&limit=100"), token)
        .await
}

/// Reads `view` until `settled` holds (indexes are eventually consistent), for up to 10 s.
async fn inbox_until(
    app: &TestApp,
    token: &str,
    view: &str,
    settled: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = inbox(app, token, view).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let found = ids(&reply);
        if settled(&found) || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every page of `view` from the start, following `next_cursor`.
async fn all_pages(app: &TestApp, token: &str, view: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let path = match &cursor {
            Some(c) => format!("/v1/inbox?view={view}&limit={limit}&cursor={c}"),
            None => format!("/v1/inbox?view={view}&limit={limit}"),
        };
        let reply = app.get(&path, token).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        seen.extend(ids(&reply));
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(urlencode(next)),
            None => return seen,
        }
    }
    panic!("paging never ended");
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn transfer(app: &TestApp, by: &str, cid: &str, body: Value) -> Reply {
    app.post(
        &format!("/v1/conversations/{cid}/transfer"),
        &app.token(Role::Agent, by),
        body,
    )
    .await
}

#[tokio::test]
async fn inbox_views_follow_handoffs_accepts_transfers_and_ends() {
    let app = TestApp::start().await;
    let (ag1, ag2) = (
        app.token(Role::Agent, "ag-1"),
        app.token(Role::Agent, "ag-2"),
    );
    let admin = app.token(Role::Admin, "boss");
    agent(&app, "ag-1", 3, &[], "online").await;
    let kept = waiting(&app, "eu-1", Priority::Normal, None).await;
    let moved = waiting(&app, "eu-2", Priority::Normal, None).await;
    let ended = waiting(&app, "eu-3", Priority::Normal, None).await;
    app.run_router().await;
    for cid in [&kept, &moved, &ended] {
        assert_eq!(accept(&app, "ag-1", cid).await.status, StatusCode::OK);
    }
    // Nobody has room for these two: they wait, the urgent one first.
    let queued = waiting(&app, "eu-4", Priority::Normal, None).await;
    let urgent = waiting(&app, "eu-5", Priority::Urgent, None).await;
    app.run_router().await;
    // One transferred to ag-2 (offline: it waits for ag-2 only), one ended.
    agent(&app, "ag-2", 3, &[], "offline").await;
    let reply = transfer(&app, "ag-1", &moved, json!({"agent_id": "ag-2"})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    assert_eq!(reply.body["assignee"], Value::Null);
    let reply = app
        .post(&format!("/v1/conversations/{ended}/end"), &ag1, json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    app.run_router().await;
    // ag-1's freed slots went to the waiting ones, urgent first.
    assert_eq!(offers(&app, "ag-1").await.len(), 2);
    assert!(offered_to(&app, &moved).await.is_none(), "only for ag-2");

    // mine: assigned to the caller (an ended session stays: the agent owns the follow-up).
    let mine = inbox_until(&app, &ag1, "mine", |found| found.len() == 2).await;
    assert_eq!(
        mine.iter().collect::<BTreeSet<_>>(),
        [&kept, &ended].into_iter().collect::<BTreeSet<_>>()
    );
    assert!(inbox_until(&app, &ag2, "mine", |f| f.is_empty())
        .await
        .is_empty());
    // waiting: in routing order; offered ones are no longer waiting.
    let waiting_now = inbox_until(&app, &ag1, "waiting", |found| found.len() == 1).await;
    assert_eq!(waiting_now, vec![moved.clone()]);
    // all: admins only, every conversation of the account.
    let everything = inbox_until(&app, &admin, "all", |found| found.len() == 5).await;
    assert_eq!(
        everything.iter().collect::<BTreeSet<_>>(),
        [&kept, &moved, &ended, &queued, &urgent]
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    let refused = inbox(&app, &ag1, "all").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Another account's staff never see these.
    let stranger = app.other_account.token(Role::Admin, "boss");
    for view in ["mine", "waiting", "all"] {
        let reply = inbox(&app, &stranger, view).await;
        assert_eq!(reply.status, StatusCode::OK, "{view}");
        assert!(ids(&reply).is_empty(), "{view}: {:?}", reply.body);
    }
    // End users have no inbox; bad views and cursors are 400.
    let end_user = app.token(Role::EndUser, "eu-1");
    assert_eq!(
        inbox(&app, &end_user, "mine").await.status,
        StatusCode::FORBIDDEN
    );
    let bad = app.get("/v1/inbox?view=everything", &admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = app.get("/v1/inbox?view=all&cursor=%23%23", &admin).await;
    assert_eq!(bad.error_code(), "invalid_cursor");
    // An item has the spec's shape.
    let reply = inbox(&app, &ag1, "mine").await;
    let item = &reply.body["conversations"][0];
    for field in [
        "id",
        "ticket_id",
        "ticket_status",
        "channel",
        "priority",
        "group",
        "tags",
        "assignee",
        "control",
        "session",
        "end_user",
        "last_message_at",
    ] {
        assert!(item.get(field).is_some(), "{field} missing from {item}");
    }
    assert_eq!(item["assignee"], "ag-1");
}

#[tokio::test]
async fn a_message_moves_its_conversation_to_the_top_of_mine() {
    let app = TestApp::start_live().await;
    let ag = app.token(Role::Agent, "ag-1");
    agent(&app, "ag-1", 5, &[], "online").await;
    let mut held = Vec::new();
    for i in 0..3 {
        let cid = waiting(&app, &format!("eu-{i}"), Priority::Normal, None).await;
        app.run_router().await;
        assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
        held.push(cid);
    }
    // Newest activity first: with no messages, the newest conversation.
    let newest_first: Vec<String> = held.iter().rev().cloned().collect();
    assert_eq!(
        inbox_until(&app, &ag, "mine", |f| f == newest_first.as_slice()).await,
        newest_first
    );
    let oldest = &held[0];
    let reply = app
        .send_text(
            oldest,
            &app.token(Role::EndUser, "eu-0"),
            "m1",
            "still there?",
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let top = inbox_until(&app, &ag, "mine", |f| f.first() == Some(oldest)).await;
    assert_eq!(top.first(), Some(oldest), "{top:?}");
    assert_eq!(top.len(), 3);
}

#[tokio::test]
async fn paging_returns_every_item_once_while_conversations_come_and_go() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "boss");
    let mut present = Vec::new();
    for i in 0..24 {
        present.push(waiting(&app, &format!("eu-{i}"), Priority::Normal, None).await);
    }
    // Routing puts them on the waiting list (there is no agent to offer them to).
    app.run_router().await;
    inbox_until(&app, &admin, "all", |f| f.len() == 24).await;
    inbox_until(&app, &admin, "waiting", |f| f.len() == 24).await;
    // While pages are read, new conversations arrive and hand off.
    let arrivals = {
        let app_ref = &app;
        async move {
            let mut new = Vec::new();
            for i in 0..8 {
                new.push(waiting(app_ref, &format!("late-{i}"), Priority::Normal, None).await);
                app_ref.run_router().await;
            }
            new
        }
    };
    let pages = async {
        (
            all_pages(&app, &admin, "all", 5).await,
            all_pages(&app, &admin, "waiting", 5).await,
        )
    };
    let (arrived, (all, waiting_view)) = tokio::join!(arrivals, pages);
    for (view, seen) in [("all", &all), ("waiting", &waiting_view)] {
        let mut counts: HashMap<&String, usize> = HashMap::new();
        for id in seen.iter() {
            *counts.entry(id).or_default() += 1;
        }
        assert!(
            counts.values().all(|n| *n == 1),
            "{view}: a duplicate in {seen:?}"
        );
        for cid in &present {
            assert_eq!(counts.get(cid), Some(&1), "{view}: {cid} missing");
        }
        assert!(
            seen.iter()
                .all(|id| present.contains(id) || arrived.contains(id)),
            "{view}: a stranger"
        );
    }
    // Waiting is in routing order: handed off earlier first.
    let order: Vec<&String> = waiting_view
        .iter()
        .filter(|id| present.contains(id))
        .collect();
    assert_eq!(order, present.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn an_urgent_conversation_handed_off_after_ten_normal_ones_is_offered_first() {
    let app = TestApp::start().await;
    for i in 0..10 {
        waiting(&app, &format!("eu-{i}"), Priority::Normal, None).await;
    }
    let urgent = waiting(&app, "eu-late", Priority::Normal, None).await;
    app.run_router().await;
    // An admin marks it urgent while it waits: it goes to the front at once.
    let reply = app
        .patch(
            &format!("/v1/conversations/{urgent}"),
            &app.token(Role::Admin, "boss"),
            json!({"priority": "urgent", "tags": ["vip"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["priority"], "urgent");
    assert_eq!(reply.body["tags"], json!(["via_messaging", "vip"]));
    let front = inbox_until(&app, &app.token(Role::Agent, "ag-1"), "waiting", |f| {
        f.first() == Some(&urgent)
    })
    .await;
    assert_eq!(front.first(), Some(&urgent));
    agent(&app, "ag-1", 1, &[], "online").await;
    app.run_router().await;
    assert_eq!(offers(&app, "ag-1").await, vec![urgent]);
}

#[tokio::test]
async fn group_routing_and_a_waiting_conversations_new_group_reroutes_it() {
    let app = TestApp::start().await;
    agent(&app, "ag-sales", 2, &["sales"], "online").await;
    agent(&app, "ag-billing", 2, &["billing"], "online").await;
    let billing = waiting(&app, "eu-1", Priority::Normal, Some("billing")).await;
    app.run_router().await;
    assert_eq!(
        offered_to(&app, &billing).await.as_deref(),
        Some("ag-billing")
    );
    // A conversation for a group nobody is online for waits; a new group re-routes it.
    agent(&app, "ag-support", 1, &["support"], "offline").await;
    let support = waiting(&app, "eu-2", Priority::Normal, Some("support")).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &support).await, None);
    // A sales agent's waiting view shows its group and the ungrouped only.
    let sales_view = app.token(Role::Agent, "ag-sales");
    assert!(inbox_until(&app, &sales_view, "waiting", |f| f.is_empty())
        .await
        .is_empty());
    let support_view = app.token(Role::Agent, "ag-support");
    assert_eq!(
        inbox_until(&app, &support_view, "waiting", |f| f.len() == 1).await,
        vec![support.clone()]
    );
    let reply = app
        .patch(
            &format!("/v1/conversations/{support}"),
            &app.token(Role::Admin, "boss"),
            json!({"group": "sales"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["group"], "sales");
    app.run_router().await;
    assert_eq!(
        offered_to(&app, &support).await.as_deref(),
        Some("ag-sales")
    );
    // Bad fields are 422 and change nothing.
    for body in [
        json!({"group": ""}),
        json!({"tags": ["Not Valid"]}),
        json!({"tags": vec!["t"; 21]}),
        json!({}),
    ] {
        let reply = app
            .patch(
                &format!("/v1/conversations/{billing}"),
                &app.token(Role::Admin, "boss"),
                body.clone(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(reply.error_code(), "invalid_field");
    }
    for body in [json!({"priority": "extreme"}), json!({"owner_id": "me"})] {
        let reply = app
            .patch(
                &format!("/v1/conversations/{billing}"),
                &app.token(Role::Admin, "boss"),
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        app.stored_conversation(&billing).await.group.as_deref(),
        Some("billing")
    );
    // End users may not; another account's staff find nothing.
    let reply = app
        .patch(
            &format!("/v1/conversations/{billing}"),
            &app.token(Role::EndUser, "eu-1"),
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .patch(
            &format!("/v1/conversations/{billing}"),
            &app.other_account.token(Role::Admin, "boss"),
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn transfers_to_agents_and_groups_keep_every_load_equal_to_what_is_held() {
    let app = TestApp::start().await;
    agent(&app, "ag-a", 8, &["tier1"], "online").await;
    agent(&app, "ag-b", 8, &["tier2"], "online").await;
    let mut held = Vec::new();
    for i in 0..8 {
        let cid = waiting(&app, &format!("eu-{i}"), Priority::Normal, Some("tier1")).await;
        app.run_router().await;
        assert_eq!(accept(&app, "ag-a", &cid).await.status, StatusCode::OK);
        held.push(cid);
    }
    assert_eq!(load(&app, "ag-a").await.0, 8);
    // Eight transfers at once, half to ag-b by name, half to its group, while ag-b accepts
    // what it is offered as soon as it can.
    let transfers = held.iter().enumerate().map(|(i, cid)| {
        let body = if i % 2 == 0 {
            json!({"agent_id": "ag-b"})
        } else {
            json!({"group": "tier2"})
        };
        let app = &app;
        async move {
            let reply = transfer(app, "ag-a", cid, body).await;
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
            // Another task's router may hold this one's routing message for a moment.
            for _ in 0..100 {
                app.run_router().await;
                if accept(app, "ag-b", cid).await.status == StatusCode::OK {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{cid} was never offered to ag-b");
        }
    });
    futures::future::join_all(transfers).await;
    app.run_router().await;
    assert_eq!(load(&app, "ag-a").await.0, 0);
    assert_eq!(load(&app, "ag-b").await.0, 8);
    for cid in &held {
        let stored = app.stored_conversation(cid).await;
        assert_eq!(stored.assignee.as_deref(), Some("ag-b"));
        assert_eq!(stored.transfer_to, None);
    }
    // Foreign, unknown and by an end user.
    let cid = &held[0];
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/transfer"),
            &app.other_account.token(Role::Agent, "ag-b"),
            json!({"group": "tier1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/transfer"),
            &app.token(Role::EndUser, "eu-0"),
            json!({"group": "tier1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = transfer(&app, "ag-b", cid, json!({"agent_id": "nobody"})).await;
    assert_eq!(reply.error_code(), "unknown_agent");
    let reply = transfer(&app, "ag-b", cid, json!({"agent_id": "ag-a", "group": "x"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(load(&app, "ag-b").await.0, 8);
}

/// An end-user token with extra claims.
pub(super) fn end_user_token(app: &TestApp, sub: &str, extra: Value) -> String {
    app.token_with_claims(Role::EndUser, sub, extra)
}

#[tokio::test]
async fn the_end_users_name_and_email_come_from_their_token_and_bad_ones_store_nothing() {
    let app = TestApp::start().await;
    let token = end_user_token(
        &app,
        "ada",
        json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
    );
    let reply = app.post("/v1/conversations", &token, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        reply.body["end_user"],
        json!({"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"})
    );
    let cid = reply.body["id"].as_str().unwrap().to_string();
    // A later token says otherwise: the conversation follows.
    let renamed = end_user_token(&app, "ada", json!({"name": "Ada King"}));
    assert_eq!(
        app.send_text(&cid, &renamed, "m1", "hi").await.status,
        StatusCode::CREATED
    );
    let staff = app
        .get(
            &format!("/v1/conversations/{cid}"),
            &app.token(Role::Agent, "ag"),
        )
        .await;
    assert_eq!(staff.body["end_user"]["name"], "Ada King");
    assert_eq!(staff.body["end_user"]["email"], "ada@example.com");
    // Control characters, 10 KB, a number, a broken address: 422, nothing stored.
    for claims in [
        json!({"name": "Ada\u{0007}"}),
        json!({"name": "x".repeat(10 * 1024)}),
        json!({"name": 42}),
        json!({"email": "not an address"}),
    ] {
        let bad = end_user_token(&app, "ada", claims.clone());
        let reply = app.send_text(&cid, &bad, "m2", "hello").await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{claims}");
        assert_eq!(reply.error_code(), "invalid_profile");
        let bad = end_user_token(&app, "grace", claims.clone());
        let reply = app.post("/v1/conversations", &bad, json!({})).await;
        assert_eq!(reply.error_code(), "invalid_profile", "{claims}");
    }
    assert_eq!(app.stored_messages(&cid).await.len(), 1);
    assert_eq!(
        app.stored_conversation(&cid)
            .await
            .end_user_profile
            .name
            .as_deref(),
        Some("Ada King")
    );
    let graces = app
        .get(
            "/v1/end-users/grace/conversations",
            &app.token(Role::Agent, "ag"),
        )
        .await;
    assert_eq!(graces.status, StatusCode::OK);
    assert!(ids(&graces).is_empty());
    // Staff find the end user's conversations; end users do not use that route.
    let adas = app
        .get(
            "/v1/end-users/ada/conversations",
            &app.token(Role::Agent, "ag"),
        )
        .await;
    assert_eq!(ids(&adas), vec![cid.clone()]);
    let reply = app.get("/v1/end-users/ada/conversations", &renamed).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_field_change_is_on_the_tickets_history_with_who_and_when() {
    let app = TestApp::start_live().await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::High, Some("vip")).await;
    let admin = app.token(Role::Admin, "boss");
    app.patch(
        &format!("/v1/conversations/{cid}"),
        &admin,
        json!({"group": null}),
    )
    .await;
    app.run_router().await;
    assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
    let path = format!("/v1/conversations/{cid}/history");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let changes = loop {
        let reply = app.get(&path, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let changes = reply.body["changes"].as_array().unwrap().clone();
        let has = |field: &str| changes.iter().any(|c| c["field"] == field);
        if (has("assignee") && has("group") && has("priority") && has("control"))
            || tokio::time::Instant::now() >= deadline
        {
            break changes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let find = |field: &str, after: Value| {
        changes
            .iter()
            .find(|c| c["field"] == field && c["after"] == after)
            .unwrap_or_else(|| panic!("no {field} → {after} in {changes:?}"))
            .clone()
    };
    let priority = find("priority", json!("high"));
    assert_eq!(priority["before"], "normal");
    assert_eq!(priority["by"], json!({"role": "admin", "id": "admin"}));
    let group = find("group", Value::Null);
    assert_eq!(group["before"], "vip");
    assert_eq!(group["by"], json!({"role": "admin", "id": "boss"}));
    let handoff = find("control", json!("agent"));
    assert_eq!(handoff["by"], json!({"role": "end_user", "id": "eu-1"}));
    let assigned = find("assignee", json!("ag-1"));
    assert_eq!(assigned["by"], json!({"role": "agent", "id": "ag-1"}));
    assert!(assigned["at"].as_str().is_some());
    // Revisions only go up along the history.
    let revisions: Vec<u64> = changes
        .iter()
        .map(|c| c["revision"].as_u64().unwrap())
        .collect();
    assert!(revisions.windows(2).all(|w| w[0] <= w[1]), "{revisions:?}");
    // Staff only.
    let reply = app.get(&path, &app.token(Role::EndUser, "eu-1")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
