//! Real-time delivery guarantees (R27) with real WebSocket clients on the emulator: order under
//! concurrent posts, catch-up after a reconnect, dead connections, a failing fan-out, and the
//! per-account connection bound.

use std::collections::BTreeSet;
use std::time::Duration;

use domain::model::Role;
use futures::stream::{self, StreamExt};
use integration_tests::faults::{seed_from_env, FaultProxy};
use integration_tests::live::LiveClient;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use use_cases::backend::Limits;

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
    let stale = domain::ids::new_id("ws");
    use_cases::realtime::connect(
        app.backend.store.as_ref(),
        domain::realtime::Listener {
            account_id: app.account.id.clone(),
            user_id: "eu-1".into(),
            role: Role::EndUser,
        },
        &stale,
        domain::now_ms(),
        &Limits::default(),
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

/// A conversation of end user `eu-1`, who is connected: its id, agent `ag-1`'s token and the
/// end user's connection.
async fn conversation_heard_by_its_end_user(app: &TestApp) -> (String, String, LiveClient) {
    let cid = app.new_conversation("eu-1").await;
    let reader = app.connect(&app.token(Role::EndUser, "eu-1")).await;
    (cid, app.token(Role::Agent, "ag-1"), reader)
}

/// With the bot on, its greeting would be one message more than a test posts
/// (built_in_bot.rs tests that one).
async fn without_the_bot(app: &TestApp) {
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        serde_json::json!({"bot": {"enabled": false}}),
    )
    .await;
}

/// Stores message `seq` of `cid` straight into the store, unpushed, as a request that wrote it
/// leaves it until it pushes; `decided`: that request had decided to push it itself.
async fn store_unpushed(app: &TestApp, cid: &str, seq: u64, decided: bool) {
    let conversation = app.stored_conversation(cid).await;
    let text = format!("message {seq}");
    let mut message =
        domain::messages::system_message(&conversation, &text, &text, domain::now_ms());
    message.seq = seq;
    message.direct_push_seq = decided.then_some(seq);
    app.backend.store.append_message(&message).await.unwrap();
}

/// The `message.created` seqs `client` receives within `wait`, in arrival order.
async fn message_seqs_for(client: &mut LiveClient, wait: Duration) -> Vec<u64> {
    client
        .frames_for(wait)
        .await
        .into_iter()
        .filter(|frame| frame["type"] == "message.created")
        .map(|frame| frame["data"]["message"]["seq"].as_u64().expect("a seq"))
        .collect()
}

#[tokio::test]
async fn a_stored_message_reaches_its_reader_from_the_write_without_waiting_for_the_stream() {
    // No fan-out runs here: whatever arrives was pushed by the request that wrote it.
    let app = TestApp::start().await;
    let (cid, agent, mut reader) = conversation_heard_by_its_end_user(&app).await;
    for n in 1..=3 {
        app.post_until_stored(&cid, &agent, n).await;
        let frame = reader
            .expect("message.created", Duration::from_secs(5))
            .await;
        assert_eq!(frame["data"]["message"]["seq"], n);
        assert_eq!(frame["data"]["message"]["text"], format!("message {n}"));
        assert!(
            frame["data"]["message"].get("direct_push_seq").is_none(),
            "the decision is not the client's: {frame}"
        );
    }
    // The writer's own tab hears it too (everyone of the conversation does).
    let mut writer_tab = app.connect(&agent).await;
    writer_tab
        .send(json!({"action": "subscribe", "conversation_id": cid}))
        .await;
    writer_tab.round_trip().await;
    app.post_until_stored(&cid, &agent, 4).await;
    assert_eq!(
        message_seqs_for(&mut reader, Duration::from_secs(2)).await,
        [4]
    );
    assert_eq!(
        message_seqs_for(&mut writer_tab, Duration::from_secs(1)).await,
        [4]
    );
}

#[tokio::test]
async fn a_message_is_not_pushed_from_its_write_while_an_earlier_one_is_still_on_its_way() {
    let app = TestApp::start().await;
    let (cid, agent, mut reader) = conversation_heard_by_its_end_user(&app).await;
    // Seq 1 stored as a system message is (with no fan-out running) never pushed: seq 2 must
    // not overtake it, so it too is left to the stream.
    store_unpushed(&app, &cid, 1, false).await;
    app.post_until_stored(&cid, &agent, 2).await;
    assert_eq!(
        message_seqs_for(&mut reader, Duration::from_secs(2)).await,
        Vec::<u64>::new(),
        "seq 2 overtook seq 1"
    );
}

#[tokio::test]
async fn a_message_its_writer_pushed_reaches_each_reader_once_though_the_stream_brings_it_too() {
    let app = TestApp::start_live().await;
    without_the_bot(&app).await;
    let (cid, agent, mut reader) = conversation_heard_by_its_end_user(&app).await;
    for n in 1..=5 {
        app.post_until_stored(&cid, &agent, n).await;
        // One at a time, so each is its writer's to push.
        assert_eq!(
            reader
                .expect("message.created", Duration::from_secs(5))
                .await["data"]["message"]["seq"],
            n
        );
    }
    let stored = app.stored_messages(&cid).await;
    assert!(
        stored.iter().all(domain::realtime::pushed_by_its_writer),
        "each was pushed from its write: {stored:?}"
    );
    // The fan-out reads every one of them from the stream, and sends none again.
    let later = message_seqs_for(&mut reader, Duration::from_secs(4)).await;
    assert_eq!(later, Vec::<u64>::new(), "copies from the stream");
}

#[tokio::test]
async fn a_message_whose_writer_died_before_pushing_is_pushed_by_the_stream_once() {
    let app = TestApp::start_live().await;
    without_the_bot(&app).await;
    let (cid, _, mut reader) = conversation_heard_by_its_end_user(&app).await;
    // What a request that decided to push, stored, and died before pushing leaves behind.
    store_unpushed(&app, &cid, 1, true).await;
    let stored_at = std::time::Instant::now();
    let frame = reader
        .expect("message.created", Duration::from_secs(8))
        .await;
    assert_eq!(frame["data"]["message"]["seq"], 1);
    assert!(
        stored_at.elapsed() >= Duration::from_millis(1_500),
        "the fan-out waits for the writer's report before pushing it itself"
    );
    let again = message_seqs_for(&mut reader, Duration::from_secs(3)).await;
    assert_eq!(again, Vec::<u64>::new(), "pushed once");
}

#[tokio::test]
async fn a_conversation_nobody_listens_to_leaves_its_messages_to_the_stream_and_writes_no_cursor() {
    // No fan-out runs here, so only writers move the cursor.
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let agent = app.token(Role::Agent, "ag-1");
    for n in 1..=3 {
        app.post_until_stored(&cid, &agent, n).await;
    }
    let pushed: Vec<bool> = app
        .stored_messages(&cid)
        .await
        .iter()
        .map(domain::realtime::pushed_by_its_writer)
        .collect();
    // The first went at once and reached nobody; the others were left to the stream.
    assert_eq!(pushed, [true, false, false]);
    let cursor = app
        .backend
        .store
        .push_cursor(&app.account.id, &cid)
        .await
        .unwrap();
    assert_eq!(
        cursor,
        domain::realtime::PushCursor {
            through_seq: 1,
            heard: false
        }
    );
}
