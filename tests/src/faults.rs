//! A fault-injecting HTTP proxy between the functions and the AWS endpoint. Each request meets
//! one fate, drawn from a seeded sequence per request kind (the operation: `X-Amz-Target`, or
//! the S3 method), so that the n-th `PutItem` of a run meets the same fate whenever the seed
//! is the same, however the requests of other kinds interleave with it:
//! - pass: forwarded untouched;
//! - delay: forwarded after a pause;
//! - reset: the connection is closed before the request reaches AWS;
//! - drop: the request reaches AWS (and takes effect) but the response is lost;
//! - throttle: AWS's throttling error, without forwarding.
//!
//! "drop" is the hard one: the caller cannot tell whether its write happened, and only
//! idempotent writes keep retries from duplicating it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request forwarded to AWS and its answer, as recorded.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// `X-Amz-Target` (DynamoDB and SQS operations); `None` for S3.
    pub target: Option<String>,
    pub request: String,
    pub status: u16,
    pub response: String,
    /// When the request reached the proxy, and when AWS's answer was back in it.
    pub started: std::time::Instant,
    pub finished: std::time::Instant,
}

/// What happened to the requests that went through the proxy.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub passed: AtomicU64,
    pub delayed: AtomicU64,
    pub reset: AtomicU64,
    pub dropped: AtomicU64,
    pub throttled: AtomicU64,
}

impl FaultCounts {
    pub fn faults(&self) -> u64 {
        self.reset.load(Ordering::Relaxed)
            + self.dropped.load(Ordering::Relaxed)
            + self.throttled.load(Ordering::Relaxed)
            + self.delayed.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.faults() + self.passed.load(Ordering::Relaxed)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} requests: {} passed, {} delayed, {} reset, {} dropped after reaching AWS, {} throttled",
            self.total(),
            self.passed.load(Ordering::Relaxed),
            self.delayed.load(Ordering::Relaxed),
            self.reset.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    /// Share of requests that meet a fault, in parts per million (0 turns faults off).
    fault_ppm: AtomicU64,
    seed: u64,
    /// How many requests of each kind met their fate so far.
    sequence_by_kind: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    counts: FaultCounts,
    /// Faults a test forced on the next requests of a kind: (fault, how many more).
    forced: std::sync::Mutex<std::collections::HashMap<String, (Fault, u32)>>,
    /// The exchanges forwarded while recording is on.
    recorded: std::sync::Mutex<Option<Vec<Exchange>>>,
    /// WebSocket connections API Gateway no longer has: pushes to them answer 410.
    gone_connections: std::sync::Mutex<Vec<String>>,
}

/// A running proxy; requests to `url` go to the upstream endpoint, some of them badly.
pub struct FaultProxy {
    pub url: String,
    state: Arc<ProxyState>,
}

/// The exchanges without the idle polls of the gateway's in-process queue consumers (an empty
/// `ReceiveMessage`): they are part of no request a test makes, and may land in any window.
pub fn without_idle_polls(exchanges: Vec<Exchange>) -> Vec<Exchange> {
    exchanges
        .into_iter()
        .filter(|e| {
            e.target.as_deref() != Some("AmazonSQS.ReceiveMessage")
                || e.response.contains("\"Messages\"")
        })
        .collect()
}

/// The dependent round trips of `exchanges`: the longest chain of requests each sent only
/// after the one before it was answered. Requests sent together (one round trip, however an
/// emulator serves them) count once; a request that waits for another's answer adds a stage.
pub fn dependent_stages(exchanges: &[Exchange]) -> usize {
    let mut by_start: Vec<&Exchange> = exchanges.iter().collect();
    by_start.sort_by_key(|e| e.started);
    let mut depth: Vec<usize> = Vec::with_capacity(by_start.len());
    for (i, exchange) in by_start.iter().enumerate() {
        let after = (0..i)
            .filter(|&j| by_start[j].finished <= exchange.started)
            .map(|j| depth[j])
            .max()
            .unwrap_or(0);
        depth.push(after + 1);
    }
    depth.into_iter().max().unwrap_or(0)
}

/// A fault a test can force on the next requests of one kind (see [`FaultProxy::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The connection is closed before the request reaches AWS.
    Reset,
    /// The request reaches AWS and takes effect; its response is lost.
    Drop,
    /// AWS's throttling error, without forwarding.
    Throttle,
    /// Forwarded after a pause of this many milliseconds (a stalled dependency).
    Stall(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pass,
    Delay(u64),
    Reset,
    Drop,
    Throttle,
}

/// splitmix64: a well-mixed 64-bit value for each (seed, index).
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a: a stable 64-bit value for a request kind (the standard hasher is seeded per process).
fn kind_hash(kind: &str) -> u64 {
    kind.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of a fault run: `FAULT_SEED` when set (to replay a failed run), else a fresh one.
pub fn seed_from_env() -> u64 {
    match std::env::var("FAULT_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FAULT_SEED must be an unsigned integer, not {text:?}")),
        Err(_) => {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("random seed");
            u64::from_le_bytes(bytes)
        }
    }
}

impl ProxyState {
    /// The forced fault of the next request of `kind`, if a test forced one.
    fn forced_fate(&self, kind: &str) -> Option<Fate> {
        let mut forced = self.forced.lock().ok()?;
        let (fault, left) = forced.get_mut(kind)?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        Some(match fault {
            Fault::Reset => Fate::Reset,
            Fault::Drop => Fate::Drop,
            Fault::Throttle => Fate::Throttle,
            Fault::Stall(ms) => Fate::Delay(*ms),
        })
    }

    fn fate(&self, kind: &str) -> Fate {
        if let Some(forced) = self.forced_fate(kind) {
            return forced;
        }
        let index = match self.sequence_by_kind.lock() {
            Ok(mut counters) => {
                let counter = counters.entry(kind.to_string()).or_insert(0);
                *counter += 1;
                *counter - 1
            }
            Err(_) => 0,
        };
        let draw = mix(self.seed ^ kind_hash(kind), index);
        let ppm = self.fault_ppm.load(Ordering::Relaxed);
        if draw % 1_000_000 >= ppm {
            return Fate::Pass;
        }
        // Faults split evenly four ways; delays of 50–300 ms.
        match (draw >> 32) % 4 {
            0 => Fate::Delay(50 + (draw >> 40) % 250),
            1 => Fate::Reset,
            2 => Fate::Drop,
            _ => Fate::Throttle,
        }
    }
}

/// The throttling answer of the service the request was for (DynamoDB and SQS speak JSON
/// with `X-Amz-Target`; anything else gets S3's XML `SlowDown`).
fn throttling_response(target: Option<&str>) -> hyper::Response<Full<Bytes>> {
    let (status, content_type, body) = match target {
        Some(t) if t.starts_with("DynamoDB") => (
            400,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_string(),
        ),
        Some(_) => (
            400,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        ),
        None => (
            503,
            "application/xml",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_string(),
        ),
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// API Gateway's answer to a push to a connection it no longer has.
fn gone_response() -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(410)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", "GoneException")
        .body(Full::new(Bytes::from_static(br#"{"message":null}"#)))
        .unwrap_or_default()
}

/// The proxy's error: hyper closes the connection without a response.
#[derive(Debug)]
struct ConnectionCut;

impl std::fmt::Display for ConnectionCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by the fault proxy")
    }
}

impl std::error::Error for ConnectionCut {}

async fn forward(
    state: &ProxyState,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ConnectionCut> {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| ConnectionCut)?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let method =
        reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|_| ConnectionCut)?;
    let mut upstream = state
        .client
        .request(method, format!("{}{path}", state.upstream))
        .body(body.to_vec());
    for (name, value) in &parts.headers {
        // The signature covers `host`: keep the caller's, as a transparent proxy does.
        if name.as_str() != "content-length" {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let response = upstream.send().await.map_err(|_| ConnectionCut)?;
    let mut builder = hyper::Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        // The body is re-framed, except that a HEAD answer's length is the object's size.
        let reframed = matches!(name.as_str(), "transfer-encoding" | "connection")
            || (name.as_str() == "content-length" && parts.method != hyper::Method::HEAD);
        if !reframed {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|_| ConnectionCut)?;
    if let Ok(mut recorded) = state.recorded.lock() {
        if let Some(exchanges) = recorded.as_mut() {
            exchanges.push(Exchange {
                method: parts.method.to_string(),
                path: path.to_string(),
                target: parts
                    .headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                request: String::from_utf8_lossy(&body).into_owned(),
                status,
                response: String::from_utf8_lossy(&bytes).into_owned(),
                started,
                finished: std::time::Instant::now(),
            });
        }
    }
    builder.body(Full::new(bytes)).map_err(|_| ConnectionCut)
}

async fn serve_one(
    state: Arc<ProxyState>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ConnectionCut> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = request.uri().path().to_string();
    if let Some(connection) = path.split("/@connections/").nth(1) {
        let gone = state
            .gone_connections
            .lock()
            .is_ok_and(|gone| gone.iter().any(|g| g == connection));
        if gone {
            return Ok(gone_response());
        }
    }
    let kind = target.clone().unwrap_or_else(|| {
        let service = if path.contains("/@connections/") {
            "ApiGatewayManagement"
        } else {
            "S3"
        };
        format!("{service} {}", request.method())
    });
    match state.fate(&kind) {
        Fate::Pass => {
            state.counts.passed.fetch_add(1, Ordering::Relaxed);
            forward(&state, request).await
        }
        Fate::Delay(ms) => {
            state.counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            forward(&state, request).await
        }
        Fate::Reset => {
            state.counts.reset.fetch_add(1, Ordering::Relaxed);
            Err(ConnectionCut)
        }
        Fate::Drop => {
            state.counts.dropped.fetch_add(1, Ordering::Relaxed);
            let _ = forward(&state, request).await;
            Err(ConnectionCut)
        }
        Fate::Throttle => {
            state.counts.throttled.fetch_add(1, Ordering::Relaxed);
            Ok(throttling_response(target.as_deref()))
        }
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port, with faults off.
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("proxy client"),
            fault_ppm: AtomicU64::new(0),
            seed,
            sequence_by_kind: std::sync::Mutex::new(std::collections::HashMap::new()),
            forced: std::sync::Mutex::new(std::collections::HashMap::new()),
            counts: FaultCounts::default(),
            recorded: std::sync::Mutex::new(None),
            gone_connections: std::sync::Mutex::new(Vec::new()),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve_one(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FaultProxy {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// Sets the share of requests that meet a fault (0.0–1.0).
    pub fn set_fault_share(&self, share: f64) {
        let ppm = (share.clamp(0.0, 1.0) * 1_000_000.0) as u64;
        self.state.fault_ppm.store(ppm, Ordering::Relaxed);
    }

    /// Starts recording the bodies of forwarded requests (what the functions asked AWS).
    pub fn start_recording(&self) {
        if let Ok(mut recorded) = self.state.recorded.lock() {
            *recorded = Some(Vec::new());
        }
    }

    /// Stops recording; returns the exchanges forwarded since `start_recording`.
    pub fn take_recording(&self) -> Vec<Exchange> {
        self.state
            .recorded
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .unwrap_or_default()
    }

    /// Forces `fault` on the next `times` requests of `kind` (an `X-Amz-Target` such as
    /// `AmazonSQS.SendMessage`, or `S3 PUT`), whatever the random draw; `times = 0` clears it.
    /// Deterministic: for tests of one exact failure.
    pub fn fail_next(&self, kind: &str, fault: Fault, times: u32) {
        if let Ok(mut forced) = self.state.forced.lock() {
            forced.insert(kind.to_string(), (fault, times));
        }
    }

    /// From now on, API Gateway no longer has WebSocket connection `connection_id`: its
    /// management API answers 410 `GoneException` for it, as AWS does after a client vanished.
    pub fn forget_connection(&self, connection_id: &str) {
        if let Ok(mut gone) = self.state.gone_connections.lock() {
            gone.push(connection_id.to_string());
        }
    }

    /// The seed the fates are drawn from (`FAULT_SEED=<seed>` replays them).
    pub fn seed(&self) -> u64 {
        self.state.seed
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.state.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn exchange(origin: Instant, from_ms: u64, to_ms: u64) -> Exchange {
        Exchange {
            method: "POST".into(),
            path: "/".into(),
            target: None,
            request: String::new(),
            status: 200,
            response: String::new(),
            started: origin + Duration::from_millis(from_ms),
            finished: origin + Duration::from_millis(to_ms),
        }
    }

    #[test]
    fn requests_sent_together_are_one_stage_and_a_request_after_an_answer_is_the_next() {
        let t = Instant::now();
        // Three reads sent together (an emulator answering them one after the other).
        let reads = [exchange(t, 0, 2), exchange(t, 0, 4), exchange(t, 1, 6)];
        assert_eq!(dependent_stages(&reads), 1);
        // The claim waits for the reads, the message for the claim.
        let mut append = reads.to_vec();
        append.push(exchange(t, 7, 8));
        append.push(exchange(t, 9, 10));
        assert_eq!(dependent_stages(&append), 3);
        // A lookup sent beside the claim adds no stage; one sent after it does.
        append.push(exchange(t, 7, 9));
        assert_eq!(dependent_stages(&append), 3);
        append.push(exchange(t, 11, 12));
        assert_eq!(dependent_stages(&append), 4);
        assert_eq!(dependent_stages(&[]), 0);
    }
}
