//! `cargo run --release -p bench`: performance and cost figures, each beside the physical limit
//! it is compared with, printed as a table (see docs/performance.md). Needs the emulator
//! (`bash localstack/start-emulator.sh`); `--sizes` also cross-builds the arm64 zips (slow).
//!
//! 1. cold start of every function binary vs a minimal `lambda_runtime` binary, and vs that
//!    binary plus one DynamoDB client (the floor the AWS SDK sets);
//! 2. ingest overhead: the ingest handler vs a bare PutItem on the same emulator;
//! 3. billed units per operation, from the AWS requests recorded on the wire, and dollars;
//! 4. arm64 zip sizes vs the minimal binary's;
//! 5. router throughput with 1,000 agents, from 100 to 10,000 waiting (in memory: the
//!    algorithm's scaling, not the emulator's);
//! 6. real time: delivery latency beside a bare PutItem, fan-out to 10–1,000 connections, and
//!    the cost of an active widget-hour with push against polling.

mod cold_start;
mod fan_out_scale;
mod inbox;
mod ingest;
mod realtime;
mod reports;
mod search;
mod units;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use domain::model::Role;
use futures::stream::{self, StreamExt};
use integration_tests::agents::{agent, offered_to};
use integration_tests::faults::{without_idle_polls, FaultProxy};
use integration_tests::{emulator_config, endpoint, json, provisioned, TestApp};
use units::Tally;

/// Every function binary (folder binaries and the settings-effects worker).
const FUNCTIONS: &[&str] = &[
    "ingest-message",
    "update-settings",
    "settings-effects",
    "upload-attachment",
    "validate-attachment",
    "route-conversation",
    "agent-presence",
    "end-session",
    "realtime",
    "fan-out",
    "widget-api",
    "agent-workspace",
    "integrations",
    "deliver-webhook",
    "email-inbound",
];

/// Every folder under `functions/` is a binary of that name: refuse to measure a partial list
/// (the table had silently missed two functions).
fn check_function_list() -> Result<(), String> {
    let folders = std::fs::read_dir(workspace_root().join("functions"))
        .map_err(|e| format!("functions/: {e}"))?;
    for folder in folders.flatten().filter(|entry| entry.path().is_dir()) {
        let name = folder.file_name().to_string_lossy().to_string();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!(
                "functions/{name} is missing from the bench's FUNCTIONS"
            ));
        }
    }
    Ok(())
}
/// The reference: the smallest `lambda_runtime` function, built the default way
/// (a position-independent executable).
const HELLO: &str = "hello-lambda";
/// The same hello-world built and run as the functions are (linked at a fixed address, one
/// thread): what those choices alone are worth.
const HELLO_AS_FUNCTIONS: &str = "hello-lambda-as-functions";
/// `hello-lambda` plus the SDK configuration and one DynamoDB client: the floor under any
/// function that builds its DynamoDB client before its first event.
const SDK_FLOOR: &str = "hello-dynamodb";
const COLD_START_RUNS: usize = 60;
const OVERHEAD_REQUESTS: usize = 400;
const OVERHEAD_CONCURRENCY: usize = 8;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // `cargo run` gives the bench its own package's variables and library path; passed on,
    // they change what build scripts see and the functions' release builds start over.
    for (name, _) in std::env::vars() {
        let set_by_cargo_run = (name.starts_with("CARGO_")
            && !matches!(name.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR"))
            || name == "LD_LIBRARY_PATH";
        if set_by_cargo_run {
            command.env_remove(name);
        }
    }
    let status = command
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo {} failed", args.join(" ")))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len().saturating_sub(1))]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// 1. Cold start.

async fn cold_starts() -> Result<(), String> {
    check_function_list()?;
    println!("\n## 1. Cold start (spawn → first `invocation/next`, median of {COLD_START_RUNS}, release profile)\n");
    let references = [HELLO, HELLO_AS_FUNCTIONS, SDK_FLOOR];
    let mut args = vec!["build", "--release"];
    for binary in references.iter().chain(FUNCTIONS) {
        args.extend(["--bin", binary]);
    }
    cargo(&args)?;
    let release = workspace_root().join("target/release");
    let names: Vec<&str> = references
        .into_iter()
        .chain(FUNCTIONS.iter().copied())
        .collect();
    let binaries: Vec<_> = names.iter().map(|name| release.join(name)).collect();
    let times = cold_start::medians(&binaries, COLD_START_RUNS).await?;
    let (hello, hello_as_functions, floor) = (times[0], times[1], times[2]);
    let ratio = |time: Duration, to: Duration| time.as_secs_f64() / to.as_secs_f64();
    println!("| binary | cold start | ratio to hello-world (targets ≤ 1.5× #14, ≤ 1.3× #15) | ratio to hello-world built as the functions are | ratio to the SDK floor |");
    println!("|---|---|---|---|---|");
    for (name, time) in names.into_iter().zip(times.iter().copied()) {
        println!(
            "| {name} | {:.2} ms | {:.2}× | {:.2}× | {:.2}× |",
            ms(time),
            ratio(time, hello),
            ratio(time, hello_as_functions),
            ratio(time, floor)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Ingest overhead.

pub(crate) async fn latencies<F, Fut>(n: usize, concurrency: usize, call: F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let call = &call;
    let mut times: Vec<Duration> = stream::iter(0..n)
        .map(|i| async move {
            let started = Instant::now();
            call(i).await;
            started.elapsed()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    times.sort();
    times
}

/// The floor of a stored message: one `PutItem` of a message-sized item, nothing else.
pub(crate) async fn bare_put_item(dynamo: &aws_sdk_dynamodb::Client, table: &str, i: usize) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let _ = dynamo
        .put_item()
        .table_name(table)
        .item("pk", S(format!("bench#{}", domain::ids::new_id("p"))))
        .item("sk", S(format!("M#{i:012}")))
        .item(
            "text",
            S("a message of ordinary length, like most are".into()),
        )
        .send()
        .await;
}

fn units_row(name: &str, tally: &Tally, http: f64, lambdas: f64) {
    let ops: Vec<String> = tally
        .operations
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}×{n}"))
        .collect();
    println!(
        "| {name} | {:.1} | {:.1} | {} | {} | {} | ${:.2} | {} |",
        tally.write_units,
        tally.read_units,
        tally.dynamodb_requests,
        tally.sqs_requests,
        tally.s3_requests,
        tally.dollars_per_million(http, lambdas, 20.0, 128.0),
        ops.join(", ")
    );
}

async fn billed_units() -> Result<(), String> {
    println!("\n## 3. Billed units per operation (recorded on the wire; prices: DynamoDB on-demand $0.625/M write, $0.125/M read units; SQS $0.40/M; S3 $5/M PUT, $0.40/M GET; HTTP API $1/M; Lambda $0.20/M + arm64 $0.0000133334/GB-s, 128 MB × 20 ms assumed)\n");
    let proxy = FaultProxy::start(&endpoint(), 3).await;
    let app = TestApp::start_at(&proxy.url).await;
    let admin = app.token(Role::Admin, "admin-1");
    let reply = app
        .patch_settings(&admin, json!({"messaging": {"csat_on_session_end": true}}))
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    println!("| operation | write units | read units | DynamoDB requests | SQS requests | S3 requests | $ per million | requests |");
    println!("|---|---|---|---|---|---|---|---|");

    // A plain message in a running conversation.
    let cid = app.new_conversation("eu-units").await;
    let user = app.token(Role::EndUser, "eu-units");
    let n = 50;
    proxy.start_recording();
    for i in 0..n {
        let reply = app
            .send_text(
                &cid,
                &user,
                &format!("u-{i}"),
                "a message of ordinary length",
            )
            .await;
        assert!(reply.status.is_success());
    }
    let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(n);
    units_row("message sent", &tally, 1.0, 1.0);

    // A conversation routed: handoff, router, accept.
    agent(&app, "ag-units", 20, &[], "online").await;
    let mut routed = Vec::new();
    for i in 0..10 {
        routed.push(app.new_conversation(&format!("eu-r{i}")).await);
    }
    proxy.start_recording();
    for (i, cid) in routed.iter().enumerate() {
        let reply = app
            .post(
                &format!("/v1/conversations/{cid}/handoff"),
                &app.token(Role::EndUser, &format!("eu-r{i}")),
                json!({}),
            )
            .await;
        assert!(reply.status.is_success());
    }
    app.run_router().await;
    for cid in &routed {
        assert_eq!(offered_to(&app, cid).await.as_deref(), Some("ag-units"));
        let reply = integration_tests::agents::accept(&app, "ag-units", cid).await;
        assert!(reply.status.is_success());
    }
    let exchanges = without_idle_polls(proxy.take_recording());
    // The offered_to checks read the store directly (not through the proxy): not counted.
    let tally = Tally::of(&exchanges).per(routed.len());
    units_row(
        "conversation routed (handoff, route, accept)",
        &tally,
        2.0,
        3.0,
    );

    // A session ended (CSAT on), capacity released.
    proxy.start_recording();
    for cid in &routed {
        let reply = app
            .post(
                &format!("/v1/conversations/{cid}/end"),
                &app.token(Role::Agent, "ag-units"),
                json!({}),
            )
            .await;
        assert!(reply.status.is_success());
    }
    app.run_router().await;
    let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(routed.len());
    units_row(
        "session ended (notice, CSAT, release, drain)",
        &tally,
        1.0,
        2.0,
    );

    // An attachment: admit, upload, complete (validation), download.
    let attachments = 5;
    proxy.start_recording();
    for i in 0..attachments {
        let admitted = app
            .post(&format!("/v1/conversations/{cid}/attachments"), &user, json!({"file_name": format!("f{i}.pdf"), "content_type": "application/pdf", "size": 2000}))
            .await;
        assert!(admitted.status.is_success(), "{:?}", admitted.body);
        let aid = admitted.body["attachment_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let status = app
            .upload(
                &admitted.body["upload"],
                &format!("f{i}.pdf"),
                integration_tests::files::pdf(),
            )
            .await;
        assert!(status.is_success(), "{status}");
        let done = app
            .post(
                &format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
                &user,
                json!({}),
            )
            .await;
        assert_eq!(done.body["status"], "clean", "{:?}", done.body);
        let shown = app
            .get(&format!("/v1/conversations/{cid}/attachments/{aid}"), &user)
            .await;
        let url = shown.body["download_url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, _) = app.download(&url).await;
        assert!(status.is_success());
    }
    let tally = Tally::of(&without_idle_polls(proxy.take_recording())).per(attachments);
    units_row(
        "attachment (admit, upload, validate, download)",
        &tally,
        3.0,
        3.0,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. Sizes.

fn zip_sizes(build: bool) -> Result<(), String> {
    println!("\n## 4. arm64 Lambda zips (`cargo lambda build --release --arm64`; target ≤ 4 MB)\n");
    if build {
        // The same command CI runs, for the functions and the hello-world reference.
        let mut args = vec![
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
            "--bin",
            HELLO,
        ];
        for function in FUNCTIONS {
            args.extend(["--bin", function]);
        }
        cargo(&args)?;
    }
    let lambda = workspace_root().join("target/lambda");
    let size =
        |name: &str| std::fs::metadata(lambda.join(name).join("bootstrap.zip")).map(|m| m.len());
    println!("| function | zip | vs hello-world |");
    println!("|---|---|---|");
    let hello = size(HELLO).ok();
    for name in std::iter::once(&HELLO).chain(FUNCTIONS.iter()) {
        match size(name) {
            Ok(bytes) => println!(
                "| {name} | {:.2} MB | {} |",
                bytes as f64 / 1_000_000.0,
                hello.map_or("-".to_string(), |h| format!(
                    "{:.2}×",
                    bytes as f64 / h as f64
                ))
            ),
            Err(_) => println!("| {name} | not built (run with --sizes) | - |"),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 5. Router throughput.

async fn router_throughput() -> Result<(), String> {
    println!(
        "\n## 5. Router throughput (1,000 agents, in memory: the algorithm's cost per decision)\n"
    );
    println!("| waiting | offers | time | offers/s | µs per decision |");
    println!("|---|---|---|---|---|");
    for waiting_count in [100usize, 1_000, 10_000] {
        let backend = adapters::wiring::in_memory();
        let account = "acct_bench";
        backend
            .bootstrap_account(account, "k1", "s")
            .await
            .map_err(|e| e.to_string())?;
        let now = domain::now_ms();
        for a in 0..1_000 {
            backend
                .store
                .update_agent_profile(
                    account,
                    &format!("agent-{a:04}"),
                    &domain::routing::AgentProfileChange {
                        status: Some(domain::routing::AgentStatus::Online),
                        capacity: Some((10, 0)),
                        groups: None,
                    },
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let settings = domain::settings::Settings::default();
        for i in 0..waiting_count {
            let c = domain::rules::new_conversation(
                account,
                &format!("u{i}"),
                &settings,
                now + i as i64,
            );
            let c = domain::rules::hand_off(&c, None, now + i as i64).ok_or("handoff")?;
            backend
                .store
                .create_conversation(&c)
                .await
                .map_err(|e| e.to_string())?;
            backend
                .store
                .put_waiting(&domain::routing::WaitingEntry::for_conversation(&c))
                .await
                .map_err(|e| e.to_string())?;
        }
        let started = Instant::now();
        let mut offers = 0;
        loop {
            let made = use_cases::router::drain(&backend, account)
                .await
                .map_err(|e| e.to_string())?;
            offers += made;
            if made == 0 {
                break;
            }
        }
        let elapsed = started.elapsed();
        println!(
            "| {waiting_count} | {offers} | {:.1} ms | {:.0} | {:.1} |",
            ms(elapsed),
            offers as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / offers.max(1) as f64
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let with_sizes = args.iter().any(|a| a == "--sizes");
    // `--only 2,3` runs just those sections.
    let only: Option<Vec<u32>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        });
    let runs = |section: u32| only.as_ref().is_none_or(|o| o.contains(&section));
    let started = Instant::now();
    println!(
        "# Relay benchmarks ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if runs(1) {
        cold_starts().await?;
    }
    if runs(2) {
        ingest::ingest_overhead().await?;
    }
    if runs(3) {
        billed_units().await?;
    }
    if runs(4) {
        zip_sizes(with_sizes)?;
    }
    if runs(5) {
        router_throughput().await?;
    }
    if runs(6) {
        realtime::section().await?;
    }
    if runs(7) {
        inbox::section().await?;
    }
    if runs(8) {
        reports::section().await?;
    }
    if runs(9) {
        search::section()?;
        search::cold_section().await?;
    }
    println!("\n(total {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}
