//! The README's walk-through runs as written (#42): its "A conversation with curl" shell block
//! is extracted, run top to bottom by bash against the gateway binary this package builds (in
//! memory mode, as `cargo run -p local-gateway` starts it), and every answer of 400 or more
//! must be one the block says it expects, with a `# expect NNN` comment at the end of its
//! command; an expected error that does not come fails too. `cargo run -q -p local-gateway --`
//! in the block runs that same binary. Needs `bash`, `curl` and `python3`, as the README says.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The block under `heading`: the first ```sh fence after it.
fn shell_block(readme: &str, heading: &str) -> String {
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("the README has no {heading:?}"))
        .1;
    let body = section
        .split_once("```sh\n")
        .expect("a ```sh block in the section")
        .1;
    body.split_once("```")
        .expect("the block's end")
        .0
        .to_string()
}

/// The block with each command that ends in `# expect NNN` run as `RELAY_EXPECT=NNN curl …`
/// (the expectation reaches the curl wrapper), commands being lines joined by `\` continuations.
fn with_expectations(block: &str) -> (String, usize) {
    let mut out = Vec::new();
    let mut command: Vec<String> = Vec::new();
    let mut expected = 0;
    for line in block.lines() {
        command.push(line.to_string());
        if line.ends_with('\\') {
            continue;
        }
        let last = command.last().cloned().unwrap_or_default();
        if let Some(status) = last
            .split_once("# expect ")
            .and_then(|(_, rest)| rest.get(..3))
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        {
            let first_curl = command
                .iter_mut()
                .find(|l| l.contains("curl "))
                .expect("an expectation on a curl command");
            *first_curl = first_curl.replacen("curl ", &format!("RELAY_EXPECT={status} curl "), 1);
            expected += 1;
        }
        out.append(&mut command);
    }
    (out.join("\n"), expected)
}

/// What the script runs before the block: stop at the first failing command, `cargo run … --`
/// as the built gateway, and `curl` that logs `status expected-status arguments` per call.
const PRELUDE: &str = r#"set -eo pipefail
cargo() { while [ "$1" != "--" ]; do shift; done; shift; "$GATEWAY_BIN" "$@"; }
curl() {
  local out status body
  out=$(command curl -sS -w '\n%{http_code}' "$@")
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  local call="$*"
  printf '%s %s %s\n' "$status" "${RELAY_EXPECT:--}" "${call//$'\n'/ }" >> "$RELAY_LOG"
  printf '%s\n' "$body"
}
"#;

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn start_gateway(binary: &str, port: u16, logs: &Path) -> Gateway {
    let log = std::fs::File::create(logs).expect("gateway log");
    let child = Command::new(binary)
        .env("PORT", port.to_string())
        // Memory mode, as the README's first command runs it.
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start the gateway");
    let gateway = Gateway(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the gateway never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    gateway
}

#[test]
fn the_readme_walkthrough_answers_as_its_comments_say() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let block = shell_block(&readme, "## A conversation with curl");
    assert!(
        block.contains("API=http://127.0.0.1:3000\n"),
        "the block names its API address on a line of its own"
    );
    let port = free_port();
    let block = block.replace(
        "API=http://127.0.0.1:3000\n",
        &format!("API=http://127.0.0.1:{port}\n"),
    );
    let (block, expected_errors) = with_expectations(&block);
    assert!(expected_errors >= 3, "the block shows its expected errors");

    let work = std::env::temp_dir().join(format!("relay-readme-{port}"));
    std::fs::create_dir_all(&work).expect("work dir");
    let (script, log, gateway_log) = (
        work.join("walkthrough.sh"),
        work.join("answers.log"),
        work.join("gateway.log"),
    );
    std::fs::File::create(&script)
        .and_then(|mut f| f.write_all(format!("{PRELUDE}\n{block}\n").as_bytes()))
        .expect("write the script");
    std::fs::write(&log, "").expect("answers log");

    let binary = env!("CARGO_BIN_EXE_local-gateway");
    let _gateway = start_gateway(binary, port, &gateway_log);
    let run = Command::new("bash")
        .arg(&script)
        .current_dir(&work)
        .env("GATEWAY_BIN", binary)
        .env("RELAY_LOG", &log)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run bash");
    let answers = std::fs::read_to_string(&log).expect("answers");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the walk-through stopped ({}): {stderr}\nanswers so far:\n{answers}",
        run.status
    );
    let mut calls = 0;
    let mut wrong = Vec::new();
    for line in answers.lines() {
        let mut parts = line.splitn(3, ' ');
        let (status, expected, call) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        calls += 1;
        let status: u16 = status.parse().unwrap_or(0);
        let fine = match expected.parse::<u16>() {
            Ok(expected) => status == expected,
            Err(_) => (200..400).contains(&status),
        };
        if !fine {
            let short: String = call.chars().take(160).collect();
            wrong.push(format!("{status} (expected {expected}): curl {short}"));
        }
    }
    assert!(calls >= 50, "only {calls} calls were made: {answers}");
    assert!(
        wrong.is_empty(),
        "answers the README does not say to expect:\n{}",
        wrong.join("\n")
    );
    let expected_seen = answers
        .lines()
        .filter(|l| l.split(' ').nth(1).is_some_and(|e| e != "-"))
        .count();
    assert_eq!(
        expected_seen, expected_errors,
        "every expected error was met"
    );
}
