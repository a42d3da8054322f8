//! Load: a closed-loop load generator (16 clients, each sending its next message as soon as the
//! previous one is answered) against the local gateway in AWS mode (the emulator), for a
//! bounded time. Criteria: zero 5xx (indeed zero non-2xx) at this load, and the stored count
//! equals the acknowledged count. Throughput and p50/p99 are printed (see docs/reliability.md);
//! they are figures, not assertions: a shared 2-core machine cannot promise a speed.

use std::time::{Duration, Instant};

use domain::model::Role;
use futures::future::join_all;
use integration_tests::{json, TestApp};

const CLIENTS: usize = 16;
const DURATION: Duration = Duration::from_secs(20);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sustained_load_gets_no_5xx_and_every_acknowledged_message_is_stored() {
    let _alone = integration_tests::heavy_test_slot().await;
    let app = TestApp::start().await;
    let mut conversations = Vec::new();
    for i in 0..CLIENTS {
        conversations.push(app.new_conversation(&format!("load-{i}")).await);
    }
    let deadline = Instant::now() + DURATION;
    let started = Instant::now();
    let clients = conversations.iter().enumerate().map(|(i, cid)| {
        let app = &app;
        async move {
            let token = app.token(Role::EndUser, &format!("load-{i}"));
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let reply = app
                    .post(
                        &format!("/v1/conversations/{cid}/messages"),
                        &token,
                        json!({"client_message_id": format!("l-{n}"), "type": "text", "text": format!("load message {n}")}),
                    )
                    .await;
                latencies.push(sent.elapsed());
                if reply.status.is_success() {
                    n += 1;
                } else {
                    failures.push((reply.status, reply.body));
                }
            }
            (cid.clone(), n, latencies, failures)
        }
    });
    let results = join_all(clients).await;
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.2.clone()).collect();
    latencies.sort();
    let acknowledged: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<_> = results.iter().flat_map(|r| r.3.clone()).collect();
    println!(
        "load: {CLIENTS} clients for {elapsed:.1?}: {acknowledged} messages acknowledged, {:.1} msg/s, p50 {:.1?}, p99 {:.1?}, max {:.1?}, {} non-2xx",
        acknowledged as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        failures.len()
    );
    assert!(acknowledged > 0);
    assert!(failures.is_empty(), "non-2xx under load: {failures:?}");
    // Every acknowledged message stored exactly once, at gap-free seqs: compared by client
    // message id, so one lost message and one duplicate cannot cancel out.
    for (cid, acked, _, _) in &results {
        let stored = app.stored_messages(cid).await;
        let ids: Vec<String> = stored.iter().map(|m| m.client_message_id.clone()).collect();
        let expected: Vec<String> = (0..*acked).map(|n| format!("l-{n}")).collect();
        assert_eq!(ids, expected, "{cid}: stored ids in seq order");
        let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=*acked as u64).collect::<Vec<_>>(), "{cid}");
    }
}
