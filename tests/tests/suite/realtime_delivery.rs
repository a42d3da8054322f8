//! Real-time delivery guarantees (R27) with real WebSocket clients on the emulator: order under
//! concurrent posts, catch-up after a reconnect, dead connections, a failing fan-out, and the
//! per-account connection bound.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use integration_tests::faults::{seed_from_env, FaultProxy};
use integration_tests::live::LiveClient;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use shared::backend::Limits;
use shared::model::Role;

/// The seqs of the `message.created` frames `client` receives until it has `count` distinct
/// ones or `wait` passes, in arrival order (copies included).
async fn seqs_received(client: &mut LiveClient, count: usize, wait: Duration) -> Vec<u64> {
    let deadline = tokio::time::Instant::now() + wait;
    let (mut arrived, mut distinct) = (Vec::new(), BTreeSet::new());
    while distinct.len() < count {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        for frame in client
            .frames_for(left.min(Duration::from_millis(500)))
            .await
        {
            if frame["type"] == "message.created" {
                let seq = frame["data"]["message"]["seq"].as_u64().expect("a seq");
                arrived.push(seq);
                distinct.insert(seq);
            }
        }
    }
    arrived
}

#[tokio::test]
async fn two_hundred_concurrent_messages_reach_a_reader_in_seq_order() {
    let app = TestApp::start_live().await;
    // Agents hold the conversation from the start: with the bot on, its greeting would be a
    // 201st message (built_in_bot.rs tests that one).
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        serde_json::json!({"bot": {"enabled": false}}),
    )
    .await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let mut reader = app.connect(&token).await;
    stream::iter(1..=200u64)
        .for_each_concurrent(16, |n| {
            let (app, cid, token) = (&app, &cid, &token);
            async move { app.post_until_stored(cid, token, n).await }
        })
        .await;
    let arrived = seqs_received(&mut reader, 200, Duration::from_secs(90)).await;
    assert_eq!(arrived.len(), 200, "every message once: {arrived:?}");
    assert!(
        arrived.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {arrived:?}"
    );
    assert_eq!(arrived, (1..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_reader_that_reconnects_and_catches_up_shows_every_message_exactly_once() {
    let app = TestApp::start_live().await;
    let cid = app.new_conversation("eu-1").await;
    let (user, agent) = (
        app.token(Role::EndUser, "eu-1"),
        app.token(Role::Agent, "ag-1"),
    );
    let mut reader = app.connect(&user).await;
    // What the widget shows, keyed by seq: a frame whose seq it has is dropped.
    let mut screen: BTreeSet<u64> = BTreeSet::new();
    for n in 1..=5 {
        app.post_until_stored(&cid, &agent, n).await;
    }
    screen.extend(seqs_received(&mut reader, 5, Duration::from_secs(20)).await);
    reader.close().await;
    for n in 6..=12 {
        app.post_until_stored(&cid, &agent, n).await;
    }
    let mut reader = app.connect(&user).await;
    // Catch up from the last seq on screen, page by page.
    loop {
        let last = screen.last().copied().unwrap_or(0);
        let page = app
            .get(
                &format!("/v1/conversations/{cid}/messages?after_seq={last}&limit=4"),
                &user,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let seqs: Vec<u64> = page.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        if seqs.is_empty() {
            break;
        }
        screen.extend(seqs);
    }
    for n in 13..=15 {
        app.post_until_stored(&cid, &agent, n).await;
    }
    screen.extend(seqs_received(&mut reader, 3, Duration::from_secs(20)).await);
    assert_eq!(screen, (1..=15).collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn a_connection_whose_socket_is_gone_is_removed_on_its_first_failed_push() {
    let app = TestApp::start_live().await;
    let cid = app.new_conversation("eu-1").await;
    let mut live = app.connect(&app.token(Role::EndUser, "eu-1")).await;
    // A record left behind by a client that vanished without a close (no socket holds it).
    let stale = shared::ids::new_id("ws");
    shared::live::connect(
        app.backend.store.as_ref(),
        shared::realtime::Listener {
            account_id: app.account.id.clone(),
            user_id: "eu-1".into(),
            role: Role::EndUser,
        },
        &stale,
        shared::now_ms(),
        Limits::default().max_connections_per_account,
    )
    .await
    .unwrap();
    app.post_until_stored(&cid, &app.token(Role::Agent, "ag-1"), 1)
        .await;
    assert_eq!(
        seqs_received(&mut live, 1, Duration::from_secs(10)).await,
        vec![1]
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .backend
        .store
        .get_connection(&stale)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stale connection was never removed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_fan_out_whose_calls_fail_still_delivers_every_message() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), seed_from_env()).await;
    println!("fault seed {} (FAULT_SEED replays it)", proxy.seed());
    let app = TestApp::start_live_with(&proxy.url, Limits::default()).await;
    // With the bot on, its greeting would be a 31st message (built_in_bot.rs tests that one).
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        serde_json::json!({"bot": {"enabled": false}}),
    )
    .await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let mut reader = app.connect(&token).await;
    // From here a quarter of the requests to AWS fail: the fan-out's reads, pushes' lookups
    // and removals, and the posts themselves (retried by the client).
    proxy.set_fault_share(0.25);
    for n in 1..=30 {
        app.post_until_stored(&cid, &token, n).await;
    }
    let arrived = seqs_received(&mut reader, 30, Duration::from_secs(90)).await;
    proxy.set_fault_share(0.0);
    assert!(proxy.counts().faults() > 0, "no fault was injected");
    let distinct: BTreeSet<u64> = arrived.iter().copied().collect();
    assert_eq!(
        distinct,
        (1..=30).collect::<BTreeSet<_>>(),
        "seed {}: arrived {arrived:?}; faults {}",
        proxy.seed(),
        proxy.counts().summary()
    );
    // At least once, and never backwards past what was shown except as a redelivered copy.
    let mut shown = 0;
    for seq in arrived {
        assert!(seq <= shown || seq == shown + 1, "seq {seq} after {shown}");
        shown = shown.max(seq);
    }
}

#[tokio::test]
async fn an_account_at_its_connection_bound_is_refused_the_next_connection() {
    let app = TestApp::start_live_with(
        &integration_tests::endpoint(),
        Limits {
            max_connections_per_account: 3,
            ..Limits::default()
        },
    )
    .await;
    let mut open = Vec::new();
    for n in 0..3 {
        open.push(
            app.connect(&app.token(Role::EndUser, &format!("eu-{n}")))
                .await,
        );
    }
    let refused = app.try_connect(&app.token(Role::Agent, "ag-1")).await;
    assert_eq!(refused.err(), Some(429));
    // Another account is not affected.
    let mut elsewhere = app
        .connect(&app.other_account.token(Role::Agent, "ag-1"))
        .await;
    elsewhere.send(json!({"action": "ping"})).await;
    elsewhere.expect("pong", Duration::from_secs(5)).await;
    // A connection that closes frees its place.
    open.pop().expect("an open connection").close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match app.try_connect(&app.token(Role::Agent, "ag-1")).await {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status, 429);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place was never freed"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
