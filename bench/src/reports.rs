//! Section 8, reports (#38): what the reports reaction writes per message, and a 31-day report
//! of 100 agents read through the gateway, as the number of conversations behind its rows grows.

use std::time::{Duration, Instant};

use adapters::dynamo::DynamoStore;
use domain::model::{Actor, AuthorRole, Control, Conversation, Role, SessionState, TicketStatus};
use domain::realtime::{Stored, StoredChange};
use domain::reports::{histogram::bucket_of, Measure, Tally as RowTally};
use domain::rules::new_conversation;
use domain::settings::Settings;
use futures::stream::{self, StreamExt};
use integration_tests::faults::{without_idle_polls, FaultProxy};
use integration_tests::{emulator_config, endpoint, provisioned, TestApp};

use crate::units::Tally;
use crate::{ms, percentile};

const AGENTS: usize = 100;
const DAYS: usize = 31;
const READS: usize = 3;
/// Messages of the typical conversation the write cost is measured on (half the agent's).
const MESSAGES: u64 = 10;

fn conversation_change(before: Option<&Conversation>, after: &Conversation) -> StoredChange {
    StoredChange {
        before: before.map(|b| Stored::Conversation(Box::new(b.clone()))),
        after: Some(Stored::Conversation(Box::new(after.clone()))),
    }
}

/// The changes of one typical conversation: created, handed off, accepted, ten messages (every
/// other one the agent's), ended, solved, rated.
fn typical_conversation(account: &str, i: usize, now: i64) -> Vec<StoredChange> {
    let created = new_conversation(account, &format!("eu-{i}"), &Settings::default(), now);
    let mut handed = created.clone();
    handed.control = Control::Agent;
    handed.handoff_at = Some(now + 1_000);
    let mut accepted = handed.clone();
    accepted.assignee = Some("ag-1".into());
    accepted.updated_at = now + 30_000;
    let mut changes = vec![
        conversation_change(None, &created),
        conversation_change(Some(&created), &handed),
        conversation_change(Some(&handed), &accepted),
    ];
    for seq in 1..=MESSAGES {
        let mut m =
            domain::messages::system_message(&accepted, "k", "text", now + 40_000 + seq as i64);
        m.seq = seq;
        m.author_role = if seq % 2 == 0 {
            AuthorRole::Agent
        } else {
            AuthorRole::EndUser
        };
        m.author_id = if seq % 2 == 0 {
            "ag-1".into()
        } else {
            created.owner_id.clone()
        };
        changes.push(StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(m))),
        });
    }
    let mut ended = accepted.clone();
    ended.session = SessionState::Ended;
    ended.updated_at = now + 600_000;
    let mut solved = ended.clone();
    solved.ticket_status = TicketStatus::Solved;
    solved.revision += 1;
    solved.stamp(Actor {
        role: Role::Agent,
        id: "ag-1".into(),
    });
    changes.push(conversation_change(Some(&accepted), &ended));
    changes.push(conversation_change(Some(&ended), &solved));
    let rating = domain::sessions::CsatRequest {
        account_id: account.into(),
        conversation_id: created.id.clone(),
        session_no: 1,
        ticket_id: created.ticket_id.clone(),
        end_user_id: created.owner_id.clone(),
        agent_id: Some("ag-1".into()),
        ended_by: "ag-1".into(),
        ended_at: now + 600_000,
        score: Some(4),
        comment: None,
        rated_at: Some(now + 700_000),
        locale: None,
    };
    changes.push(StoredChange {
        before: None,
        after: Some(Stored::Rating(Box::new(rating))),
    });
    changes
}

/// A day's row of one agent who handled `conversations` that day: every counter, and as many
/// distinct buckets of each measure as conversations (at most 120: durations from 10 s to
/// about 3 h at 2 % apart).
fn agent_day_row(account: &str, day: &str, agent: usize, conversations: i64) -> RowTally {
    let mut counters = std::collections::BTreeMap::new();
    for name in [
        "conversations_started",
        "handoffs",
        "solved_by_agents",
        "one_touch_resolutions",
        "csat_responses",
        "csat_4",
    ] {
        counters.insert(name.to_string(), conversations);
    }
    counters.insert("csat_score_sum".to_string(), 4 * conversations);
    let distinct = conversations.min(120);
    for measure in Measure::ALL {
        for k in 0..distinct {
            let ms = (10_000.0 * 1.05_f64.powi(k as i32)) as i64;
            let count = conversations / distinct + i64::from(k < conversations % distinct);
            counters.insert(measure.bucket(bucket_of(ms)), count);
        }
        counters.insert(measure.sum(), 600_000 * conversations);
    }
    RowTally {
        account_id: account.into(),
        day: day.into(),
        agent_id: Some(format!("agent-{agent:03}")),
        group: Some(format!("group-{}", agent % 5)),
        counters,
    }
}

/// Writes every agent's row of every day as if each agent handled `conversations` a day
/// (straight to the table, replacing the rows there: the emulator copies the whole table for
/// each transaction, which would make counting them one by one take hours).
async fn fill_rows(app: &TestApp, days: &[String], conversations: i64) {
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&emulator_config().await),
        provisioned().await.table_name.clone(),
    );
    let account = app.account.id.clone();
    let jobs: Vec<(usize, String)> = (0..AGENTS)
        .flat_map(|a| days.iter().map(move |d| (a, d.clone())))
        .collect();
    stream::iter(jobs)
        .for_each_concurrent(16, |(agent, day)| {
            let (store, account) = (&store, account.clone());
            async move {
                let row = agent_day_row(&account, &day, agent, conversations);
                store.seed_report_row(&row).await.expect("row");
            }
        })
        .await;
}

pub async fn section() -> Result<(), String> {
    println!("\n## 8. Reports: the reaction's writes per message, and a 31-day report of {AGENTS} agents\n");
    let proxy = FaultProxy::start(&endpoint(), 8).await;
    let app = TestApp::start_at(&proxy.url).await;
    let now = domain::now_ms();

    let conversations = 20;
    proxy.start_recording();
    for i in 0..conversations {
        for change in typical_conversation(&app.account.id, i, now) {
            use_cases::reports::count_change(&app.backend, &change)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(conversations);
    println!("A conversation of {MESSAGES} messages (5 the agent's), handed off, accepted, ended, solved and rated, counted by the reaction (mean of {conversations}):\n");
    println!("| write units per conversation | per message | read units per conversation | DynamoDB requests per conversation |");
    println!("|---|---|---|---|");
    println!(
        "| {:.1} | {:.2} | {:.1} | {:.1} |",
        tally.write_units,
        tally.write_units / MESSAGES as f64,
        tally.read_units,
        tally.dynamodb_requests as f64
    );
    println!("\n(A row is put whole and billed by its size: a busy agent's day packs into about 1.2 KB, 2 units a put, 4 in a transaction.)\n");

    let today = jiff::Zoned::now().date();
    let days: Vec<String> = (0..DAYS as i64)
        .filter_map(|d| today.checked_sub(jiff::Span::new().days(d)).ok())
        .map(|d| d.to_string())
        .collect();
    let from = days.last().cloned().unwrap_or_default();
    let to = today.to_string();
    let token = app.token(Role::Admin, "boss");
    println!("| conversations counted | rows read | p50 | p99 | read units per report | DynamoDB requests |");
    println!("|---|---|---|---|---|---|");
    // The same 3,100 rows filled three times, each agent handling 10× more conversations a
    // day than before: the report must cost the same whatever the conversations behind it.
    for per_agent_day in [1, 10, 100] {
        let filling = Instant::now();
        fill_rows(&app, &days, per_agent_day).await;
        eprintln!("rows filled in {:.0} s", filling.elapsed().as_secs_f64());
        let path = format!("/v1/reports/messaging?from={from}&to={to}&group_by=agent");
        let mut latencies: Vec<Duration> = Vec::new();
        proxy.start_recording();
        for _ in 0..READS {
            let started = Instant::now();
            let reply = app.get(&path, &token).await;
            latencies.push(started.elapsed());
            let rows = reply.body["rows"].as_array().map_or(0, Vec::len);
            let handoffs = reply.body["total"]["handoffs"].as_i64().unwrap_or(0);
            let expected = (AGENTS * DAYS) as i64 * per_agent_day;
            if !reply.status.is_success() || rows < AGENTS || handoffs < expected {
                return Err(format!(
                    "report: {rows} rows, {handoffs} handoffs (expected {expected}): {:?}",
                    reply.body["total"]
                ));
            }
        }
        let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(READS);
        latencies.sort();
        println!(
            "| {} | {} | {:.0} ms | {:.0} ms | {:.0} | {:.0} |",
            (AGENTS * DAYS) as i64 * per_agent_day,
            AGENTS * DAYS,
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            tally.read_units,
            tally.dynamodb_requests
        );
    }
    Ok(())
}
