//! Section 6, real time: delivery latency next to a bare `PutItem`, fan-out to many
//! connections, and the cost of an active widget-hour with push against polling every 2 s.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use domain::model::Role;
use futures::future::join_all;
use integration_tests::faults::FaultProxy;
use integration_tests::live::{LiveClient, Received};
use integration_tests::{emulator_config, endpoint, json, provisioned, TestApp};
use use_cases::backend::Limits;

use crate::units::{prices, Tally};
use crate::{ms, percentile};
use integration_tests::faults::without_idle_polls;

const LATENCY_MESSAGES: usize = 100;

/// Waits for the `message.created` frames of `seqs` on `client`, frame by frame; answers when
/// the last of them arrived.
async fn arrival_of_all(client: &mut LiveClient, seqs: &[u64]) -> Result<Instant, String> {
    let mut missing: BTreeSet<u64> = seqs.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.receive(left).await {
            Some(Received::Frame(frame)) if frame["type"] == "message.created" => {
                if let Some(seq) = frame["data"]["message"]["seq"].as_u64() {
                    missing.remove(&seq);
                }
            }
            Some(Received::Frame(_)) => {}
            _ => return Err(format!("the frames of seqs {missing:?} never came")),
        }
    }
    Ok(Instant::now())
}

async fn arrival_of(client: &mut LiveClient, seq: u64) -> Result<Instant, String> {
    arrival_of_all(client, &[seq]).await
}

/// POST returning → the frame on the other party's socket, one message at a time; and how
/// long each POST took (the writer's push is part of it).
async fn delivery_latencies(app: &TestApp) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let cid = app.new_conversation("eu-latency").await;
    let user = app.token(Role::EndUser, "eu-latency");
    let mut reader = app.connect(&app.token(Role::Agent, "ag-latency")).await;
    reader
        .send(json!({"action": "subscribe", "conversation_id": cid}))
        .await;
    reader.round_trip().await;
    let (mut times, mut posts) = (Vec::new(), Vec::new());
    for i in 0..LATENCY_MESSAGES + 5 {
        let sent = Instant::now();
        let reply = app
            .send_text(
                &cid,
                &user,
                &format!("l-{i}"),
                "a message of ordinary length",
            )
            .await;
        let returned = Instant::now();
        let seq = reply.body["message"]["seq"]
            .as_u64()
            .ok_or_else(|| format!("no seq in {:?}", reply.body))?;
        let arrived = arrival_of(&mut reader, seq).await?;
        // The first few warm connections and caches.
        if i >= 5 {
            times.push(arrived.saturating_duration_since(returned));
            posts.push(returned - sent);
        }
    }
    times.sort();
    posts.sort();
    Ok((times, posts))
}

async fn bare_put_items() -> Vec<Duration> {
    let table = provisioned().await.table_name.clone();
    let dynamo = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    crate::latencies(LATENCY_MESSAGES + 5, 1, |i| {
        let (dynamo, table) = (dynamo.clone(), table.clone());
        async move { crate::bare_put_item(&dynamo, &table, i).await }
    })
    .await
}

/// Time until every one of `readers` has the frame of `seq`.
async fn all_arrived(readers: &mut [LiveClient], seq: u64) -> Result<Instant, String> {
    let arrivals = join_all(readers.iter_mut().map(|r| arrival_of(r, seq))).await;
    let mut last = None;
    for arrival in arrivals {
        let arrival = arrival?;
        last = Some(last.map_or(arrival, |l: Instant| l.max(arrival)));
    }
    last.ok_or_else(|| "no readers".into())
}

/// One message to `n` subscribed staff connections: time from POST returning to the last
/// frame arriving (median of 5).
async fn fan_out_time(app: &TestApp, n: usize) -> Result<Duration, String> {
    let cid = app.new_conversation("eu-fan").await;
    let user = app.token(Role::EndUser, "eu-fan");
    let mut readers = Vec::with_capacity(n);
    for i in 0..n {
        let mut reader = app
            .connect(&app.token(Role::Agent, &format!("ag-{i}")))
            .await;
        reader
            .send(json!({"action": "subscribe", "conversation_id": cid}))
            .await;
        reader.round_trip().await;
        readers.push(reader);
    }
    let mut times = Vec::new();
    for i in 0..5 {
        let reply = app
            .send_text(&cid, &user, &format!("f-{i}"), "to everyone")
            .await;
        let returned = Instant::now();
        let seq = reply.body["message"]["seq"].as_u64().unwrap_or(0);
        times.push(all_arrived(&mut readers, seq).await? - returned);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// What one active widget-hour costs, push against polling every 2 s.
async fn widget_hour_cost() -> Result<(), String> {
    let proxy = FaultProxy::start(&endpoint(), 6).await;
    let app = TestApp::start_live_with(&proxy.url, Limits::default()).await;
    let cid = app.new_conversation("eu-cost").await;
    let user = app.token(Role::EndUser, "eu-cost");
    let mut reader = app.connect(&user).await;
    // A message and its fan-out (the stream read itself is Lambda's and free).
    let n = 20;
    proxy.start_recording();
    let mut seqs = Vec::new();
    for i in 0..n {
        let reply = app.send_text(&cid, &user, &format!("c-{i}"), "hello").await;
        seqs.push(reply.body["message"]["seq"].as_u64().unwrap_or(0));
    }
    arrival_of_all(&mut reader, &seqs).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let recorded = Tally::of(&without_idle_polls(proxy.take_recording()));
    let per_message = recorded.per(n);
    // A poll: the history after the last seq (nothing new, the common answer).
    let last = seqs.iter().max().copied().unwrap_or(0);
    proxy.start_recording();
    for _ in 0..n {
        let page = app
            .get(
                &format!("/v1/conversations/{cid}/messages?after_seq={last}"),
                &user,
            )
            .await;
        assert!(page.status.is_success());
    }
    let per_poll = Tally::of(&without_idle_polls(proxy.take_recording())).per(n);

    // An active hour: 20 messages (each one frame to the widget), 20 typing frames, a ping
    // and pong every 5 minutes, one connection for 60 minutes.
    let messages_per_hour = 20.0;
    let polls_per_hour = 1800.0;
    let poll_dollars = polls_per_hour * per_poll.dollars_per_million(1.0, 1.0, 20.0, 128.0) / 1e6;
    let frames = messages_per_hour + 20.0 + 24.0;
    let push_dollars = (60.0 * prices::WEBSOCKET_CONNECTION_MINUTES_PER_MILLION
        + frames * prices::WEBSOCKET_MESSAGES_PER_MILLION
        // The fan-out's reads and one invocation per change (the write itself is paid either way).
        + messages_per_hour
            * (per_message.read_units * prices::DYNAMODB_READ_PER_MILLION
                + prices::LAMBDA_REQUESTS_PER_MILLION))
        / 1e6
        + messages_per_hour * 0.128 * 0.020 * prices::LAMBDA_ARM_GB_SECOND;
    println!("| widget-hour | requests per hour | $ per hour | $ per million widget-hours |");
    println!("|---|---|---|---|");
    println!(
        "| polling every 2 s (HTTP API, Lambda, {:.1} read units a poll) | 1,800 | ${poll_dollars:.6} | ${:.0} |",
        per_poll.read_units,
        poll_dollars * 1e6
    );
    println!(
        "| push (60 connection-minutes, {frames:.0} frames; {:.1} read units a message, its post and its fan-out) | {frames:.0} | ${push_dollars:.6} | ${:.0} |",
        per_message.read_units,
        push_dollars * 1e6
    );
    println!(
        "| **push / polling** | | {:.3}× | |",
        push_dollars / poll_dollars
    );
    delivered_message_cost(&recorded, n);
    Ok(())
}

/// Amazon Connect's chat price (us-east-1): $0.004 per message sent or received.
const AMAZON_CONNECT_CHAT_PER_MILLION: f64 = 4_000.0;

/// Dollars per million messages delivered (posted over HTTP, stored, reacted to by the
/// fan-out, one frame on one reader's socket), from `recorded`: the requests of `n` such
/// messages on the wire, their posts and their fan-out.
fn delivered_message_cost(recorded: &Tally, n: usize) {
    use crate::units::prices::*;
    let n = n.max(1) as f64;
    let lambda = LAMBDA_REQUESTS_PER_MILLION + 1e6 * 0.128 * 0.020 * LAMBDA_ARM_GB_SECOND;
    let rows = [
        (
            "API Gateway HTTP API: the POST".to_string(),
            HTTP_API_PER_MILLION,
        ),
        (
            "Lambda: ingest and fan-out (2 invocations, 128 MB × 20 ms)".into(),
            2.0 * lambda,
        ),
        (
            format!(
                "DynamoDB writes ({:.2} units: the post's and its reactions')",
                recorded.write_units / n
            ),
            recorded.write_units / n * DYNAMODB_WRITE_PER_MILLION,
        ),
        (
            format!("DynamoDB reads ({:.2} units)", recorded.read_units / n),
            recorded.read_units / n * DYNAMODB_READ_PER_MILLION,
        ),
        (
            format!("SQS ({:.2} requests)", recorded.sqs_requests as f64 / n),
            recorded.sqs_requests as f64 / n * SQS_PER_MILLION,
        ),
        (
            "API Gateway WebSocket: one frame to the reader".into(),
            WEBSOCKET_MESSAGES_PER_MILLION,
        ),
        (
            "API Gateway WebSocket: the reader's connection (60 minutes over 20 messages)".into(),
            3.0 * WEBSOCKET_CONNECTION_MINUTES_PER_MILLION,
        ),
    ];
    println!("\n### $ per million messages delivered (target ≤ $4; the requests above, priced)\n");
    println!("| part | $ per million messages |");
    println!("|---|---|");
    let mut total = 0.0;
    for (part, dollars) in &rows {
        total += dollars;
        println!("| {part} | ${dollars:.2} |");
    }
    println!("| **relay, per million messages delivered** | **${total:.2}** |");
    println!(
        "| Amazon Connect chat ($0.004 a message) | ${AMAZON_CONNECT_CHAT_PER_MILLION:.0} ({:.4}× of it) |",
        total / AMAZON_CONNECT_CHAT_PER_MILLION
    );
}

pub async fn section() -> Result<(), String> {
    println!("\n## 6. Real time (WebSocket clients; a message pushed by its writer when nothing before it is on its way, else by the fan-out from the change stream)\n");
    println!("### Delivery latency ({LATENCY_MESSAGES} messages, one at a time: POST returning → frame on the other party's socket)\n");
    println!("| path | p50 | p99 | p50 / bare PutItem p50 (target ≤ 3×) | POST p50 |");
    println!("|---|---|---|---|---|");
    let bare = bare_put_items().await;
    let bare_p50 = percentile(&bare, 0.5);
    println!(
        "| bare PutItem (emulator {}) | {:.2} ms | {:.2} ms | 1.00× | |",
        endpoint(),
        ms(bare_p50),
        ms(percentile(&bare, 0.99))
    );
    let in_memory = TestApp::start_in_memory().await;
    for (name, app) in [
        ("in memory (the store's change feed)", &in_memory),
        (
            "emulator (DynamoDB stream read every 50 ms, as Lambda polls it)",
            &TestApp::start_live().await,
        ),
    ] {
        let (times, posts) = delivery_latencies(app).await?;
        let p50 = percentile(&times, 0.5);
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}× | {:.2} ms |",
            ms(p50),
            ms(percentile(&times, 0.99)),
            p50.as_secs_f64() / bare_p50.as_secs_f64(),
            ms(percentile(&posts, 0.5))
        );
    }

    println!("\n### Fan-out of one message to N subscribed connections of one account (in memory; median of 5)\n");
    println!("| connections | POST → last frame | deliveries per second |");
    println!("|---|---|---|");
    for n in [10, 100, 1_000] {
        let time = fan_out_time(&in_memory, n).await?;
        println!(
            "| {n} | {:.2} ms | {:.0} |",
            ms(time),
            n as f64 / time.as_secs_f64()
        );
    }

    crate::fan_out_scale::table().await?;

    println!("\n### Cost of an active widget-hour (requests recorded on the wire; API Gateway WebSocket $1/M messages, $0.25/M connection-minutes)\n");
    widget_hour_cost().await
}
