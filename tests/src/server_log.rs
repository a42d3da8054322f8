//! The gateway's log, captured in memory, so that a 5xx a test meets names its own cause: every
//! request logs inside a `request{request_id=…}` span and answers the id in `x-request-id`
//! (`edge::api::handle_logged`), and [`lines_of`] returns what was logged under that id.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, Once};

/// Lines kept, newest last (older ones are dropped: the load tests log a lot).
const KEPT_LINES: usize = 50_000;

static LINES: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
static INSTALL: Once = Once::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        if let Ok(mut lines) = LINES.lock() {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                if lines.len() == KEPT_LINES {
                    lines.pop_front();
                }
                lines.push_back(line.to_string());
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once per test binary: warnings and errors of every crate,
/// each prefixed with the spans it happened in (spans of every level are kept for that).
pub fn install() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    INSTALL.call_once(|| {
        let warnings_in_any_span = tracing_subscriber::filter::filter_fn(|metadata| {
            metadata.is_span() || *metadata.level() <= tracing::Level::WARN
        });
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(|| Capture)
            .with_filter(warnings_in_any_span);
        let _ = tracing_subscriber::registry().with(layer).try_init();
    });
}

/// The captured lines that mention `request_id` (its span prefixes each of them).
pub fn lines_of(request_id: &str) -> Vec<String> {
    LINES
        .lock()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l.contains(request_id))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
