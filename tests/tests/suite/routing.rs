//! Omnichannel routing against the emulator (R23–R26): methods, priority and age, groups,
//! status, offer timeouts, accept, capacity under concurrent routers, poison messages.

use std::sync::Arc;
use std::time::Duration;

use domain::model::{Conversation, Priority, Role};
use domain::routing::WaitingEntry;
use integration_tests::agents::{accept, agent, offered_to, offers, set_status, waiting};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn highest_spare_capacity_offers_to_the_emptiest_agent_and_accept_assigns() {
    let app = TestApp::start().await;
    agent(&app, "ag-small", 1, &[], "online").await;
    agent(&app, "ag-big", 3, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-big"));
    // R25: with default settings an offer stands for 30 seconds.
    let offer = app.stored_conversation(&cid).await.offer.expect("an offer");
    assert_eq!(offer.expires_at - offer.offered_at, 30_000);
    assert_eq!(offers(&app, "ag-big").await, vec![cid.clone()]);
    assert!(offers(&app, "ag-small").await.is_empty());
    let accepted = accept(&app, "ag-big", &cid).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    assert_eq!(accepted.body["assignee"], "ag-big");
    let conversation = app
        .get(
            &format!("/v1/conversations/{cid}"),
            &app.token(Role::EndUser, "eu-1"),
        )
        .await;
    assert_eq!(conversation.body["assignee"], "ag-big");
    // Accepting again is harmless; the offer is gone from the list; the load stays.
    assert_eq!(accept(&app, "ag-big", &cid).await.status, StatusCode::OK);
    assert!(offers(&app, "ag-big").await.is_empty());
    let me = app
        .get("/v1/agents/me", &app.token(Role::Agent, "ag-big"))
        .await;
    assert_eq!(me.body["load"]["messaging"], 1);
}

#[tokio::test]
async fn round_robin_takes_turns() {
    let app = TestApp::start().await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"routing": {"method": "round_robin"}}),
    )
    .await;
    // Unequal capacities: highest spare capacity would offer all four to ag-a (10 free
    // against 4), so only a router that follows `routing.method` takes turns.
    agent(&app, "ag-a", 10, &[], "online").await;
    agent(&app, "ag-b", 4, &[], "online").await;
    let mut assigned = Vec::new();
    for i in 0..4 {
        let cid = waiting(&app, &format!("eu-{i}"), Priority::Normal, None).await;
        app.run_router().await;
        assigned.push(offered_to(&app, &cid).await.expect("offered"));
    }
    assert_eq!(assigned, vec!["ag-a", "ag-b", "ag-a", "ag-b"]);
}

#[tokio::test]
async fn higher_priority_first_then_oldest_and_waiting_ones_route_when_an_agent_comes_online() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 1, &[], "offline").await;
    let old_low = waiting(&app, "eu-1", Priority::Normal, None).await;
    let new_low = waiting(&app, "eu-2", Priority::Normal, None).await;
    let urgent = waiting(&app, "eu-3", Priority::Urgent, None).await;
    app.run_router().await;
    // Nobody online: all three wait, in routing order.
    let list = app
        .backend
        .store
        .list_waiting(&app.account.id, 10)
        .await
        .unwrap();
    let order: Vec<_> = list.iter().map(|w| w.conversation_id.clone()).collect();
    assert_eq!(
        order,
        vec![urgent.clone(), old_low.clone(), new_low.clone()]
    );
    // Coming online triggers routing: the urgent one first.
    set_status(&app, "ag-1", "online").await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &urgent).await.as_deref(), Some("ag-1"));
    assert_eq!(offered_to(&app, &old_low).await, None);
    // Capacity raised: the oldest of the rest next.
    agent(&app, "ag-1", 2, &[], "online").await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &old_low).await.as_deref(), Some("ag-1"));
    assert_eq!(offered_to(&app, &new_low).await, None);
}

#[tokio::test]
async fn group_filtering_and_away_or_offline_agents_are_never_offered() {
    let app = TestApp::start().await;
    agent(&app, "ag-sales", 5, &["sales"], "online").await;
    agent(&app, "ag-away", 5, &["billing"], "away").await;
    agent(&app, "ag-off", 5, &["billing"], "offline").await;
    let billing = waiting(&app, "eu-1", Priority::Normal, Some("billing")).await;
    app.run_router().await;
    assert_eq!(
        offered_to(&app, &billing).await,
        None,
        "only away/offline billing agents"
    );
    for id in ["ag-sales", "ag-away", "ag-off"] {
        assert!(offers(&app, id).await.is_empty(), "{id}");
    }
    agent(&app, "ag-billing", 1, &["billing"], "online").await;
    app.run_router().await;
    assert_eq!(
        offered_to(&app, &billing).await.as_deref(),
        Some("ag-billing")
    );
}

#[tokio::test]
async fn unaccepted_offer_times_out_and_goes_to_another_agent() {
    let app = TestApp::start().await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"routing": {"offer_timeout_seconds": 1}}),
    )
    .await;
    agent(&app, "ag-a", 2, &[], "online").await;
    agent(&app, "ag-b", 2, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    let first = offered_to(&app, &cid).await.expect("offered");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The delayed timeout message becomes visible: withdrawn, offered again (a loaded emulator
    // may deliver it a little late).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut second = first.clone();
    while second == first && std::time::Instant::now() < deadline {
        app.run_router().await;
        second = offered_to(&app, &cid)
            .await
            .unwrap_or_else(|| first.clone());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(
        first, second,
        "the offer was never withdrawn and routed again"
    );
    // The first agent can no longer accept; its capacity came back.
    let late = accept(&app, &first, &cid).await;
    assert!(
        late.status == StatusCode::FORBIDDEN || late.status == StatusCode::CONFLICT,
        "{:?}",
        late.body
    );
    let me = app
        .get("/v1/agents/me", &app.token(Role::Agent, &first))
        .await;
    assert_eq!(me.body["load"]["messaging"], 0);
}

#[tokio::test]
async fn offer_held_by_an_agent_going_offline_is_routed_again() {
    let app = TestApp::start().await;
    agent(&app, "ag-a", 1, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-a"));
    agent(&app, "ag-b", 1, &[], "online").await;
    set_status(&app, "ag-a", "offline").await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-b"));
    assert!(offers(&app, "ag-a").await.is_empty());
}

#[tokio::test]
async fn accept_by_another_agent_and_capacity_change_by_a_non_admin_are_refused() {
    let app = TestApp::start().await;
    agent(&app, "ag-a", 1, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    let stolen = accept(&app, "ag-x", &cid).await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
    assert_eq!(stolen.error_code(), "not_offered");
    let foreign = app
        .post(
            &format!("/v1/conversations/{cid}/accept"),
            &app.other_account.token(Role::Agent, "ag-a"),
            json!({}),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let by_end_user = app
        .post(
            &format!("/v1/conversations/{cid}/accept"),
            &app.token(Role::EndUser, "eu-1"),
            json!({}),
        )
        .await;
    assert_eq!(by_end_user.status, StatusCode::FORBIDDEN);
    assert_eq!(
        offered_to(&app, &cid).await.as_deref(),
        Some("ag-a"),
        "refusals change nothing"
    );
    for role in [Role::Agent, Role::EndUser] {
        let reply = app
            .put(
                "/v1/agents/ag-a/capacity",
                &app.token(role, "someone"),
                json!({"messaging": 50, "email": 0}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let me = app
        .get("/v1/agents/me", &app.token(Role::Agent, "ag-a"))
        .await;
    assert_eq!(
        me.body["capacity"]["messaging"], 1,
        "refused changes change nothing"
    );
}

/// R24 under concurrency: 8 routers, 200 waiting conversations, 10 agents of capacity 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_routers_never_exceed_capacity_or_double_assign() {
    let app = Arc::new(TestApp::start().await);
    for i in 0..10 {
        agent(&app, &format!("ag-{i}"), 3, &[], "online").await;
    }
    app.run_router().await; // status/capacity drain requests: nothing waits yet
    let settings = domain::settings::Settings {
        bot: domain::settings::BotSettings {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut conversations: Vec<Conversation> = Vec::new();
    for i in 0..200 {
        let c = domain::rules::new_conversation(
            &app.account.id,
            &format!("eu-{i}"),
            &settings,
            1_000 + i,
        );
        app.backend.store.create_conversation(&c).await.unwrap();
        let request = domain::model::RoutingRequest {
            account_id: app.account.id.clone(),
            conversation_id: Some(c.id.clone()),
            priority: Priority::Normal,
            reason: "bot_disabled".into(),
            requested_at: 0,
            offer_id: None,
        };
        use_cases::router::publish(&app.backend, &request, 0)
            .await
            .unwrap();
        conversations.push(c);
    }
    let routers: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.run_router().await })
        })
        .collect();
    for router in routers {
        assert_eq!(router.await.unwrap(), 0, "no routing message failed");
    }
    let mut offered_per_agent = std::collections::HashMap::<String, u32>::new();
    let mut still_waiting = 0;
    for c in &conversations {
        let stored = app.stored_conversation(&c.id).await;
        match (&stored.offer, &stored.assignee) {
            (Some(offer), None) => {
                *offered_per_agent.entry(offer.agent_id.clone()).or_default() += 1
            }
            (None, None) => still_waiting += 1,
            other => panic!("unexpected state {other:?}"),
        }
    }
    let agents = app
        .backend
        .store
        .list_agents(&app.account.id)
        .await
        .unwrap();
    assert_eq!(agents.len(), 10);
    for a in &agents {
        assert!(
            a.load_messaging <= a.cap_messaging,
            "{} over capacity: {a:?}",
            a.id
        );
        assert_eq!(
            a.load_messaging,
            offered_per_agent.get(&a.id).copied().unwrap_or(0),
            "{}: load must equal the conversations it holds",
            a.id
        );
    }
    assert_eq!(
        offered_per_agent.values().sum::<u32>(),
        30,
        "every slot used once"
    );
    assert_eq!(still_waiting, 170);
    let list = app
        .backend
        .store
        .list_waiting(&app.account.id, 1_000)
        .await
        .unwrap();
    assert_eq!(list.len(), 170, "the rest wait, durably");
    let _: Vec<WaitingEntry> = list;
}

/// R26: a poison message is reported alone and dead-lettered after the receive limit; the
/// rest of its batch is processed.
#[tokio::test]
async fn poison_routing_message_is_reported_alone_and_dead_lettered() {
    let app = TestApp::start().await;
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    let name = domain::ids::new_id("poison");
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "1",
        )
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = adapters::sqs::SqsQueue::new(sqs.clone(), url);
    let dlq = adapters::sqs::SqsQueue::new(sqs, dlq_url);
    use use_cases::ports::Queue;
    agent(&app, "ag-1", 1, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.routing_requests().await; // drop the gateway's own messages; this test feeds its queue
    queue.send("{not json", 0).await.unwrap();
    let good = json!({"account_id": app.account.id, "conversation_id": cid, "reason": "handoff", "requested_at": 0});
    let good = good.to_string();
    queue.send(&good, 0).await.unwrap();
    let mut dead = Vec::new();
    // What R26 is about: the good message in the same batch as the poison is still handled.
    let mut shared_a_batch = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dead.is_empty() && std::time::Instant::now() < deadline {
        let batch = queue.receive(10).await.unwrap();
        shared_a_batch |=
            batch.iter().any(|m| m.body == "{not json") && batch.iter().any(|m| m.body == good);
        if !batch.is_empty() {
            let failed = route_conversation::handle_batch(&app.backend, &batch).await;
            let poison: Vec<_> = batch
                .iter()
                .filter(|m| m.body == "{not json")
                .map(|m| m.message_id.clone())
                .collect();
            assert_eq!(
                failed, poison,
                "only the poison message fails, by its own id"
            );
            for m in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                queue.acknowledge(&m.receipt).await.unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        dead = dlq.receive(10).await.unwrap();
    }
    assert!(
        shared_a_batch,
        "the poison and the good message never shared a batch"
    );
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{not json");
    assert_eq!(
        offered_to(&app, &cid).await.as_deref(),
        Some("ag-1"),
        "the good message was routed"
    );
}

#[tokio::test]
async fn a_page_of_conversations_nobody_can_take_does_not_hold_up_the_ones_behind_it() {
    let app = TestApp::start().await;
    let settings = domain::settings::Settings {
        bot: domain::settings::BotSettings {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    // More than a page of the router's reads, all for a group nobody is in, waiting first.
    for i in 0..60 {
        let mut c = domain::rules::new_conversation(
            &app.account.id,
            &format!("eu-{i}"),
            &settings,
            1_000 + i,
        );
        c.group = Some("nobody-here".into());
        app.backend.store.create_conversation(&c).await.unwrap();
        app.backend
            .store
            .put_waiting(&WaitingEntry::for_conversation(&c))
            .await
            .unwrap();
    }
    let behind = waiting(&app, "eu-late", Priority::Normal, None).await;
    agent(&app, "ag-1", 1, &[], "online").await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &behind).await.as_deref(), Some("ag-1"));
}
