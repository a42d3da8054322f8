//! A real browser for the tests: headless Chromium driven by ChromeDriver (Debian's `chromium`
//! and `chromium-driver`, installed by `.ci/run`) over the W3C WebDriver protocol, spoken
//! directly with the HTTP client the tests already have: a session, navigation, elements
//! (inside shadow roots too), clicks, typing, files, scripts and screenshots.
//!
//! Each [`Browser`] is a ChromeDriver process with one browser of its own (its own profile),
//! so two of them are two people on two machines. Both end when the value is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where screenshots go: `target/browser-screenshots/` (ignored by git with the rest of
/// `target/`).
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("browser-screenshots");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// WebDriver's codes for the keys the tests press.
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SHIFT: &str = "\u{E008}";
}

/// axe-core's browser build, installed by `npm ci` in `tests/browser-tools`.
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("browser-tools")
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js")
}

fn executable(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_string())
}

/// One element of the page (a WebDriver element reference).
#[derive(Debug, Clone)]
pub struct Element(String);

pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    profile: PathBuf,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        Self::launch(width, height, None).await
    }

    /// A phone: Chromium's device emulation at `width`×`height` CSS pixels (a desktop window
    /// cannot be narrower than 500 px).
    pub async fn start_phone(width: u32, height: u32) -> Browser {
        let metrics = json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}});
        Self::launch(width, height, Some(metrics)).await
    }

    async fn launch(width: u32, height: u32, mobile: Option<Value>) -> Browser {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            listener.local_addr().expect("port").port()
        };
        let driver_path = executable("CHROMEDRIVER", "/usr/bin/chromedriver");
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_path} (apt-get install chromium chromium-driver): {e}")
            });
        let http = reqwest::Client::new();
        let server = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{server}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "ChromeDriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("relay-chromium-{}", domain::ids::new_id("p")));
        // The flags that keep Chromium off this machine's closed network and usable as root.
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut options = json!({
            "binary": executable("CHROMIUM", "/usr/bin/chromium"),
            "args": args,
        });
        if let Some(mobile) = mobile {
            options["mobileEmulation"] = mobile;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let created: Value = http
            .post(format!("{server}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("ChromeDriver reachable")
            .json()
            .await
            .expect("session JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_string();
        Browser {
            driver,
            base: format!("{server}/session/{session}"),
            http,
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request
            .send()
            .await
            .expect("ChromeDriver reachable")
            .json()
            .await
            .expect("WebDriver JSON");
        if reply["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", reply["value"]);
        }
        reply["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// The first element matching `css` in the document, or inside the shadow root of the
    /// element matching `host` when given, waiting up to 10 s for it to be shown (file inputs,
    /// which pages hide behind a button, only to exist).
    pub async fn find_in(&self, host: Option<&str>, css: &str) -> Element {
        let script = "const [host, css] = arguments; \
            const root = host ? document.querySelector(host)?.shadowRoot : document; \
            const found = root ? root.querySelector(css) : null; \
            const shown = found && (found.type === 'file' || found.getClientRects().length > 0); \
            return shown ? found : null;";
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.run(script, vec![json!(host), json!(css)]).await;
            if let Some(id) = found.get(ELEMENT_KEY).and_then(Value::as_str) {
                return Element(id.to_string());
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} (in {host:?}): {found}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.find_in(None, css).await
    }

    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    /// Empties a text field.
    pub async fn clear(&self, element: &Element) {
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await;
    }

    /// Types `text` into the element as a user would (key by key).
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({"text": text}),
        )
        .await;
    }

    /// Chooses `path` in a file input.
    pub async fn choose_file(&self, element: &Element, path: &Path) {
        self.type_into(element, &path.display().to_string()).await;
    }

    /// The text of every element matching `css` (inside `host`'s shadow root when given).
    pub async fn texts(&self, host: Option<&str>, css: &str) -> Vec<String> {
        let script = "const [host, css] = arguments; \
            const root = host ? document.querySelector(host)?.shadowRoot : document; \
            return root ? [...root.querySelectorAll(css)].map(e => e.textContent) : [];";
        let found = self.run(script, vec![json!(host), json!(css)]).await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits up to `secs` until `script` (a function body) returns `true`; `what` names what
    /// never happened when it does not.
    pub async fn wait_until(&self, script: &str, secs: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let answer = self.run(script, vec![]).await;
            if answer == Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "{what} (last answer {answer})");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `secs` until some element matching `css` has text containing `needle`.
    pub async fn wait_for_text(&self, host: Option<&str>, css: &str, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let texts = self.texts(host, css).await;
            if texts.iter().any(|t| t.contains(needle)) {
                return;
            }
            if Instant::now() >= deadline {
                let shot = self.screenshot("timed-out").await;
                panic!(
                    "no {css} containing {needle:?} within {secs} s; saw {texts:?} (screenshot {})",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Runs `source` at the start of every page loaded from now on, before the page's own
    /// scripts (as a site's inline snippet would run before a deferred script loads).
    pub async fn before_each_page(&self, source: &str) {
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": source}}),
        )
        .await;
    }

    /// Presses keys on whatever has the focus, as a keyboard user would (WebDriver key codes:
    /// [`keys`]).
    pub async fn press(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for key in keys {
            actions.push(json!({"type": "keyDown", "value": key}));
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// axe-core's violations on the page as it is now (shadow roots included), each as
    /// `rule (impact): targets`. axe is injected from `tests/browser-tools/node_modules`
    /// (`npm ci` there, which `scripts/test.sh` runs) through WebDriver, which a page's
    /// content security policy does not govern. Every rule axe runs by default counts
    /// (WCAG 2 A and AA, and its best practices: heading order, landmarks).
    pub async fn axe_violations(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_path()).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing ({e}): run `npm ci` in tests/browser-tools (scripts/test.sh does)"
            )
        });
        self.run(&format!("{source}\n; return typeof axe;"), vec![])
            .await;
        let script = "const done = arguments[arguments.length - 1]; \
            axe.run(document, { resultTypes: ['violations'] }).then( \
              r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + \
                v.nodes.map(n => JSON.stringify(n.target)).join(', '))), \
              e => done(['axe failed: ' + e]));";
        let found = self
            .post("/execute/async", json!({"script": script, "args": []}))
            .await;
        found
            .as_array()
            .expect("axe's violations")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Saves a PNG of the viewport as `name`.png in [`screenshot_dir`] and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (ChromeDriver closes its browser) with a plain blocking request:
        // a panicking test must not leave a Chromium behind.
        if let Some(rest) = self.base.strip_prefix("http://") {
            if let Some((authority, path)) = rest.split_once('/') {
                use std::io::{Read, Write};
                if let Ok(mut stream) = std::net::TcpStream::connect(authority) {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        stream,
                        "DELETE /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.read_to_end(&mut Vec::new());
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
