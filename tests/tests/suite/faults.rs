//! Nothing lost under faults: the functions reach the emulator through a proxy that delays,
//! resets, throttles and drops (after the request took effect) 10% of AWS requests, while
//! 2,000 messages with unique `client_message_id`s are sent with client retries and 40
//! conversations are handed off and routed.
//!
//! Criteria: every message acknowledged 2xx is stored exactly once, at the sequence number the
//! acknowledgement gave; no `client_message_id` is stored twice; each conversation's sequence
//! numbers are 1..n without a gap or a duplicate; every handed-off conversation is offered to
//! exactly one agent and every agent's load equals the offers it holds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use domain::model::{AuthorRole, Role};
use futures::stream::{self, StreamExt};
use integration_tests::agents::agent;
use integration_tests::faults::{Fault, FaultProxy};
use integration_tests::{emulator_config, endpoint, json, TestApp};
use reqwest::StatusCode;
use use_cases::ports::ConversationStore;

const CONVERSATIONS: usize = 40;
const MESSAGES_PER_CONVERSATION: usize = 50;
const CONCURRENCY: usize = 16;
const FAULT_SHARE: f64 = 0.10;
/// Client attempts per request before the test gives up on it.
const CLIENT_ATTEMPTS: usize = 40;

/// Posts until a 2xx (retrying 5xx like a widget would); returns the acknowledged reply body.
async fn post_until_acknowledged(
    app: &TestApp,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> Option<serde_json::Value> {
    for attempt in 0..CLIENT_ATTEMPTS {
        let reply = app.post(path, token, body.clone()).await;
        if reply.status.is_success() {
            return Some(reply.body);
        }
        assert!(
            reply.status.is_server_error(),
            "a fault must never become a client error: {} {:?}",
            reply.status,
            reply.body
        );
        assert_ne!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "faults are retryable (503), never internal errors: {:?}\nserver log:\n{}",
            reply.body,
            reply.server_log.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(20 * (attempt as u64 + 1).min(10))).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_acknowledged_under_faults_are_stored_exactly_once_and_routing_is_neither_lost_nor_doubled(
) {
    let _alone = integration_tests::heavy_test_slot().await;
    let seed = integration_tests::faults::seed_from_env();
    // Printed with the test's output when it fails: FAULT_SEED=<seed> replays the same fates.
    println!("fault seed {seed} (replay with FAULT_SEED={seed})");
    let proxy = FaultProxy::start(&endpoint(), seed).await;
    let app = TestApp::start_at(&proxy.url).await;
    // Redeliver failed routing messages quickly (the default visibility is 30 s).
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    let routing_url = app.config.clone().expect("own resources").routing_queue_url;
    sqs.set_queue_attributes()
        .queue_url(&routing_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .expect("shorten the routing queue's visibility timeout");

    // Set-up without faults: offers that stand for the whole test (timeouts are tested
    // elsewhere), 5 agents with room for every conversation, 40 conversations.
    let admin = app.token(Role::Admin, "admin-1");
    let reply = app
        .patch_settings(&admin, json!({"routing": {"offer_timeout_seconds": 900}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    for i in 0..5 {
        agent(&app, &format!("ag-{i}"), 10, &[], "online").await;
    }
    let mut conversations = Vec::new();
    for i in 0..CONVERSATIONS {
        conversations.push(app.new_conversation(&format!("eu-{i}")).await);
    }

    proxy.set_fault_share(FAULT_SHARE);
    let started = Instant::now();
    // Interleaved across conversations, as real traffic is (and each conversation's messages
    // still race each other for sequence numbers).
    let sends = (0..MESSAGES_PER_CONVERSATION).flat_map(|k| {
        conversations
            .iter()
            .enumerate()
            .map(move |(i, cid)| (i, cid.clone(), k))
    });
    let acknowledged: Vec<(String, String, u64)> = stream::iter(sends)
        .map(|(i, cid, k)| {
            let app = &app;
            async move {
                let token = app.token(Role::EndUser, &format!("eu-{i}"));
                let cmid = format!("m-{i}-{k}");
                let body = post_until_acknowledged(
                    app,
                    &format!("/v1/conversations/{cid}/messages"),
                    &token,
                    json!({"client_message_id": cmid, "type": "text", "text": format!("message {k}")}),
                )
                .await
                .unwrap_or_else(|| panic!("{cmid} never acknowledged"));
                let seq = body["message"]["seq"].as_u64().expect("seq in the acknowledgement");
                (cid, cmid, seq)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let sending = started.elapsed();

    // Hand every conversation off (under faults too), then route until all are offered.
    for (i, cid) in conversations.iter().enumerate() {
        post_until_acknowledged(
            &app,
            &format!("/v1/conversations/{cid}/handoff"),
            &app.token(Role::EndUser, &format!("eu-{i}")),
            json!({}),
        )
        .await
        .expect("handoff acknowledged");
    }
    // The test's own progress checks read the table directly, not through the faults.
    let direct = adapters::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&emulator_config().await),
        app.config.clone().expect("own resources").table_name,
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        app.run_router().await;
        let mut offered = 0;
        for cid in &conversations {
            let stored = direct
                .get_conversation(&app.account.id, cid)
                .await
                .expect("read conversation");
            offered += usize::from(stored.is_some_and(|c| c.offer.is_some()));
        }
        if offered == CONVERSATIONS || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    proxy.set_fault_share(0.0);
    let counts = proxy.counts();
    println!(
        "{} messages acknowledged in {:.1?}; {}",
        acknowledged.len(),
        sending,
        counts.summary()
    );
    assert!(
        counts.dropped.load(Ordering::Relaxed) > 20 && counts.reset.load(Ordering::Relaxed) > 20,
        "the proxy injected too few faults to prove anything: {}",
        counts.summary()
    );

    // Messages: exactly once, where the acknowledgement said.
    assert_eq!(
        acknowledged.len(),
        CONVERSATIONS * MESSAGES_PER_CONVERSATION
    );
    let mut acked_seq: HashMap<(String, String), u64> = HashMap::new();
    for (cid, cmid, seq) in &acknowledged {
        assert!(
            acked_seq
                .insert((cid.clone(), cmid.clone()), *seq)
                .is_none(),
            "{cmid} acknowledged twice by the test itself"
        );
    }
    for cid in &conversations {
        let stored = app.stored_messages(cid).await;
        let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
        let expected: Vec<u64> = (1..=stored.len() as u64).collect();
        assert_eq!(
            seqs, expected,
            "{cid}: sequence numbers with a gap or a duplicate"
        );
        let mut seen = HashSet::new();
        let mut by_cmid = BTreeMap::new();
        for message in stored
            .iter()
            .filter(|m| m.author_role == AuthorRole::EndUser)
        {
            assert!(
                seen.insert(message.client_message_id.clone()),
                "{cid}: {} stored twice",
                message.client_message_id
            );
            by_cmid.insert(message.client_message_id.clone(), message.seq);
        }
        assert_eq!(by_cmid.len(), MESSAGES_PER_CONVERSATION, "{cid}");
        for (cmid, seq) in by_cmid {
            assert_eq!(
                acked_seq.get(&(cid.clone(), cmid.clone())),
                Some(&seq),
                "{cid}/{cmid}: stored at another seq than acknowledged"
            );
        }
    }

    // Routing: every conversation offered once, loads equal to the offers held.
    let mut offered_to = HashMap::new();
    for i in 0..5 {
        let agent_id = format!("ag-{i}");
        let offers = app
            .backend
            .store
            .list_offers(&app.account.id, &agent_id)
            .await
            .unwrap();
        let record = app
            .backend
            .store
            .get_agent(&app.account.id, &agent_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.load_messaging as usize, offers.len(), "{agent_id}");
        for offer in offers {
            assert!(
                offered_to
                    .insert(offer.conversation_id.clone(), agent_id.clone())
                    .is_none(),
                "{} offered twice",
                offer.conversation_id
            );
        }
    }
    for cid in &conversations {
        let conversation = app.stored_conversation(cid).await;
        let offer = conversation.offer.expect("every conversation offered");
        assert_eq!(offered_to.get(cid), Some(&offer.agent_id));
    }
    assert_eq!(offered_to.len(), CONVERSATIONS);
    assert!(app
        .backend
        .store
        .list_waiting(&app.account.id, 100)
        .await
        .unwrap()
        .is_empty());
}

// One exact failure each, forced on one operation (no random draw): the regressions of the
// 500s found under random faults, and the "effect happened, answer lost" case of each write.

const SEND_MESSAGE: &str = "AmazonSQS.SendMessage";
const TRANSACT_WRITE: &str = "DynamoDB_20120810.TransactWriteItems";

async fn handoff(app: &TestApp, user: &str, cid: &str) -> integration_tests::Reply {
    app.post(
        &format!("/v1/conversations/{cid}/handoff"),
        &app.token(Role::EndUser, user),
        json!({}),
    )
    .await
}

/// Found by the random fault test (its server log named `ThrottlingException: Rate exceeded`):
/// the SQS adapter mapped every SQS service error, throttling included, to an internal error.
#[tokio::test]
async fn handoff_whose_routing_request_is_throttled_answers_503_and_its_retry_reaches_routing() {
    let proxy = FaultProxy::start(&endpoint(), 0).await;
    let app = TestApp::start_at(&proxy.url).await;
    let cid = app.new_conversation("eu-1").await;

    // Every attempt the SDK makes is throttled, so the SDK gives up.
    proxy.fail_next(SEND_MESSAGE, Fault::Throttle, u32::MAX);
    let reply = handoff(&app, "eu-1", &cid).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{reply:?}\nserver log:\n{}",
        reply.server_log.join("\n")
    );
    assert_eq!(reply.error_code(), "service_unavailable");
    assert!(app.routing_requests().await.is_empty());

    // The client retries once SQS recovers: the conversation reaches routing.
    proxy.fail_next(SEND_MESSAGE, Fault::Throttle, 0);
    let reply = handoff(&app, "eu-1", &cid).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let requests = app.routing_requests().await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].conversation_id.as_deref(), Some(cid.as_str()));
}

/// A routing request that SQS stored but whose answer was lost is sent again by the SDK (and
/// by the client's retry): routing receives duplicates and must still offer the conversation
/// once, to one agent, counting one slot.
#[tokio::test]
async fn routing_requests_sent_twice_because_answers_were_lost_offer_the_conversation_once() {
    let proxy = FaultProxy::start(&endpoint(), 0).await;
    let app = TestApp::start_at(&proxy.url).await;
    agent(&app, "ag-1", 5, &[], "online").await;
    app.run_router().await; // the status change's own drain request: nothing waits yet
    let cid = app.new_conversation("eu-1").await;

    proxy.fail_next(SEND_MESSAGE, Fault::Drop, 1);
    let reply = handoff(&app, "eu-1", &cid).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");
    let reply = handoff(&app, "eu-1", &cid).await; // the widget's retry, for good measure
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{reply:?}");

    assert_eq!(app.run_router().await, 0);
    assert_eq!(
        integration_tests::agents::offered_to(&app, &cid)
            .await
            .as_deref(),
        Some("ag-1")
    );
    assert_eq!(integration_tests::agents::load(&app, "ag-1").await, (1, 0));
    let offers = app
        .backend
        .store
        .list_offers(&app.account.id, "ag-1")
        .await
        .expect("read offers");
    assert_eq!(offers.len(), 1, "{offers:?}");
}

/// An end of session whose transaction took effect but whose answer was lost: the SDK's retry
/// of the same transaction finds its conditions failed (the emulator does not honour the
/// idempotency token). The request must still succeed, and end the session once.
#[tokio::test]
async fn end_of_session_whose_transaction_answer_was_lost_ends_the_session_once() {
    let proxy = FaultProxy::start(&endpoint(), 0).await;
    let app = TestApp::start_at(&proxy.url).await;
    agent(&app, "ag-1", 5, &[], "online").await;
    app.run_router().await;
    let cid = app.new_conversation("eu-1").await;
    assert_eq!(
        handoff(&app, "eu-1", &cid).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.run_router().await, 0);
    let reply = integration_tests::agents::accept(&app, "ag-1", &cid).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(integration_tests::agents::load(&app, "ag-1").await, (1, 0));

    proxy.fail_next(TRANSACT_WRITE, Fault::Drop, 1);
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/end"),
            &app.token(Role::Agent, "ag-1"),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{reply:?}\nserver log:\n{}",
        reply.server_log.join("\n")
    );
    let conversation = app.stored_conversation(&cid).await;
    assert_eq!(conversation.session, domain::model::SessionState::Ended);
    let notices = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .filter(|m| m.kind == domain::model::MessageKind::System)
        .count();
    assert_eq!(notices, 1, "the end user is told once");
    assert_eq!(integration_tests::agents::load(&app, "ag-1").await, (0, 0));
}
