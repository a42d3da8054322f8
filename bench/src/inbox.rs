//! Section 7, the agent inbox: a page's latency and read units as the account grows (issue
//! 18). Each view reads its own index partitions, so a page must cost the same at 100 and at
//! 100,000 conversations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters::dynamo::DynamoStore;
use domain::model::{Role, TicketStatus};
use domain::routing::WaitingEntry;
use domain::rules::{hand_off, new_conversation};
use domain::settings::Settings;
use futures::stream::{self, StreamExt};
use integration_tests::faults::{without_idle_polls, FaultProxy};
use integration_tests::{emulator_config, endpoint, provisioned, TestApp};
use use_cases::ports::Store;

use crate::units::Tally;
use crate::{ms, percentile};

const SIZES: [usize; 3] = [100, 10_000, 100_000];
/// Conversations assigned to the bench agent and waiting: enough for a full page each.
const ASSIGNED: usize = 30;
const WAITING: usize = 30;
const PAGE: usize = 25;
const READS_PER_VIEW: usize = 20;

/// Adds conversations to `account` until it holds `target`: the first `ASSIGNED` assigned to
/// `ag-bench`, the next `WAITING` waiting, the rest running under the bot.
async fn grow(store: &Arc<dyn Store>, account: &str, from: usize, target: usize) {
    stream::iter(from..target)
        .for_each_concurrent(32, |i| {
            let store = store.clone();
            async move {
                let now = domain::now_ms();
                let mut c =
                    new_conversation(account, &format!("eu-{i}"), &Settings::default(), now);
                if i < ASSIGNED {
                    c = hand_off(&c, None, now).unwrap_or(c);
                    c.assignee = Some("ag-bench".into());
                    c.ticket_status = TicketStatus::Open;
                } else if i < ASSIGNED + WAITING {
                    c = hand_off(&c, None, now).unwrap_or(c);
                }
                store.create_conversation(&c).await.expect("create");
                if (ASSIGNED..ASSIGNED + WAITING).contains(&i) {
                    store
                        .put_waiting(&WaitingEntry::for_conversation(&c))
                        .await
                        .expect("wait");
                }
            }
        })
        .await;
}

pub async fn section() -> Result<(), String> {
    println!("\n## 7. Inbox page ({PAGE} items) as the account grows: latency through the gateway and read units per page (median of {READS_PER_VIEW})\n");
    println!("(moto answers an index query by filtering the whole table, so its latency grows with the table; DynamoDB reads only the partition. The read units are what a page costs on AWS.)\n");
    let proxy = FaultProxy::start(&endpoint(), 7).await;
    let app = TestApp::start_at(&proxy.url).await;
    let filler: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&emulator_config().await),
        provisioned().await.table_name.clone(),
    ));
    let account = app.account.id.clone();
    println!("| conversations in the account | view | p50 | p99 | read units per page | DynamoDB requests per page |");
    println!("|---|---|---|---|---|---|");
    let mut have = 0;
    for size in SIZES {
        let filling = Instant::now();
        grow(&filler, &account, have, size).await;
        have = size;
        eprintln!("filled {size} in {:.0} s", filling.elapsed().as_secs_f64());
        for (view, role, user) in [
            ("mine", Role::Agent, "ag-bench"),
            ("waiting", Role::Admin, "boss"),
            ("all", Role::Admin, "boss"),
        ] {
            let token = app.token(role, user);
            let path = format!("/v1/inbox?view={view}&limit={PAGE}");
            let mut latencies: Vec<Duration> = Vec::new();
            proxy.start_recording();
            for _ in 0..READS_PER_VIEW {
                let started = Instant::now();
                let reply = app.get(&path, &token).await;
                latencies.push(started.elapsed());
                let items = reply.body["conversations"].as_array().map_or(0, Vec::len);
                if !reply.status.is_success() || items != PAGE {
                    return Err(format!("{view} at {size}: {items} items, {:?}", reply.body));
                }
            }
            let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(READS_PER_VIEW);
            latencies.sort();
            println!(
                "| {size} | {view} | {:.1} ms | {:.1} ms | {:.1} | {} |",
                ms(percentile(&latencies, 0.5)),
                ms(percentile(&latencies, 0.99)),
                tally.read_units,
                tally.dynamodb_requests,
            );
        }
    }
    Ok(())
}
