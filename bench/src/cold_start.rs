//! Cold start under a local Lambda Runtime API emulator: the time from spawning a function's
//! binary to its first `GET /2018-06-01/runtime/invocation/next` (ready for its first event).
//! The emulator never answers that request; the process is killed once it has asked.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Environment a function binary needs to start: the runtime API, Lambda's own variables,
/// and the product's typed configuration (pointing nowhere: no network call may happen).
fn function_env(runtime_api: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("TABLE_NAME", "bench-table".into()),
        (
            "ROUTING_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/0/routing".into(),
        ),
        (
            "SETTINGS_EFFECTS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/0/effects".into(),
        ),
        ("ATTACHMENTS_BUCKET", "bench-bucket".into()),
        (
            "ATTACHMENT_EVENTS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/0/attachments".into(),
        ),
        (
            "WEBHOOK_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/0/webhooks".into(),
        ),
        (
            "REACTIONS_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/0/reactions".into(),
        ),
        ("REALTIME_ENDPOINT", "https://ws.example.com/live".into()),
        ("RUST_LOG", "off".into()),
    ]
}

/// One cold start of `binary`: spawn to the first `invocation/next`.
async fn once(binary: &Path) -> Result<Duration, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let api = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(function_env(&api))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut buffer = vec![0u8; 4096];
            let n = stream.read(&mut buffer).await.map_err(|e| e.to_string())?;
            let head = String::from_utf8_lossy(&buffer[..n]);
            if head.starts_with("GET /2018-06-01/runtime/invocation/next") {
                return Ok::<_, String>(started.elapsed());
            }
            // Anything else (an init error report): answer and keep waiting.
            let _ = stream
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    })
    .await
    .map_err(|_| format!("{} never asked for an event", binary.display()))?;
    let _ = child.kill().await;
    ready
}

/// The median of `runs` cold starts of each binary. Runs are interleaved (one of each, then
/// again), so a machine that gets busier or quieter during the measurement moves every
/// binary's figure alike instead of skewing the ratios.
pub async fn medians(binaries: &[PathBuf], runs: usize) -> Result<Vec<Duration>, String> {
    let mut times = vec![Vec::with_capacity(runs); binaries.len()];
    for _ in 0..runs {
        for (binary, times) in binaries.iter().zip(&mut times) {
            times.push(once(binary).await?);
        }
    }
    Ok(times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect())
}
