//! The widget and the agent console in a real browser (headless Chromium through ChromeDriver):
//! a visitor on the demo shop and an agent in a second browser talk through the whole product
//! on the emulator, real time included. Screenshots of each step land in
//! `target/browser-screenshots/` (one of them is the README's).

use domain::model::{AuthorRole, MessageKind, Role};
use integration_tests::agents::agent_with_capacity;
use integration_tests::browser::Browser;
use integration_tests::TestApp;
use serde_json::{json, Value};

const WIDGET: Option<&str> = Some("#relay-widget");
const ENTER: &str = "\u{E007}";

/// Text that would run if any page treated message text as markup.
const HOSTILE_TEXT: &str =
    "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> is this safe?";

pub(super) async fn widget_send(visitor: &Browser, text: &str) {
    let composer = visitor.find_in(WIDGET, "[data-testid=composer]").await;
    visitor
        .type_into(&composer, &format!("{text}{ENTER}"))
        .await;
    visitor.wait_for_text(WIDGET, ".msg.mine", text, 10).await;
}

async fn pwned(browser: &Browser) -> Value {
    browser.run("return window.__pwned ?? null;", vec![]).await
}

/// The only visitor of the app's account: the widget keeps its token in localStorage.
async fn visitor_token(visitor: &Browser) -> String {
    let saved = visitor
        .run(
            "const k = Object.keys(localStorage).find(k => k.startsWith('relay-widget:')); \
             return k ? JSON.parse(localStorage.getItem(k)).token : null;",
            vec![],
        )
        .await;
    saved
        .as_str()
        .expect("the widget saved its visitor")
        .to_string()
}

/// A visitor on the shop embedding `app`'s account widget, who opened the widget, started a
/// conversation and sent `first`.
async fn visitor_starts_a_conversation(app: &TestApp, first: &str) -> Browser {
    let visitor = Browser::start(1280, 800).await;
    visitor
        .goto(&format!(
            "{}/demo/?account={}",
            app.base_url, app.account.id
        ))
        .await;
    visitor.screenshot("1-shop").await;
    open_and_start(&visitor, first).await;
    visitor
}

/// On a page showing the widget: opens it, starts a conversation and sends `first`.
pub(super) async fn open_and_start(visitor: &Browser, first: &str) {
    let launcher = visitor.find_in(WIDGET, ".launcher").await;
    visitor.click(&launcher).await;
    let start = visitor
        .find_in(WIDGET, "[data-testid=new-conversation]")
        .await;
    visitor.click(&start).await;
    widget_send(visitor, first).await;
}

/// A PNG under a fresh name in the temporary folder, and that name.
fn fresh_png() -> (std::path::PathBuf, String) {
    let png = std::env::temp_dir().join(format!("{}.png", domain::ids::new_id("receipt")));
    std::fs::write(&png, integration_tests::files::png()).expect("write a PNG");
    let file_name = png.file_name().unwrap().to_string_lossy().to_string();
    (png, file_name)
}

/// Attaches a fresh PNG in the widget and waits for its message's link; returns the file's
/// name (the file itself is removed).
async fn widget_attaches_a_png(visitor: &Browser) -> String {
    let (png, file_name) = fresh_png();
    let file_input = visitor.find_in(WIDGET, "[data-testid=file]").await;
    visitor.choose_file(&file_input, &png).await;
    visitor
        .wait_for_text(WIDGET, ".msg.mine a", &file_name, 20)
        .await;
    let _ = std::fs::remove_file(png);
    file_name
}

/// The product on the in-memory backend, as `cargo run -p local-gateway` runs it.
async fn in_memory_app() -> TestApp {
    TestApp::start_in_memory().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitor_and_an_agent_talk_through_the_widget_and_the_console() {
    let app = TestApp::start_product().await;
    let agent_token = app.token(Role::Agent, "agent-ada");
    // An admin gave the agent room for three conversations; the agent is offline until it
    // signs in.
    agent_with_capacity(&app, "agent-ada", (3, 0), &[], "offline").await;

    // The agent signs in to the console in one browser and goes online.
    let agent = Browser::start(1280, 800).await;
    agent
        .goto(&format!("{}/console/#token={agent_token}", app.base_url))
        .await;
    agent.wait_for_text(None, "#who", "agent-ada", 10).await;
    let online = agent.find("[data-status=online]").await;
    agent.click(&online).await;
    agent
        .wait_for_text(None, ".statuses .active", "Online", 10)
        .await;

    // A visitor opens the shop in another browser and starts a conversation.
    let visitor = visitor_starts_a_conversation(&app, "Hi! Where is my order 1042?").await;

    // A PNG, through admit → upload → complete.
    let file_name = widget_attaches_a_png(&visitor).await;
    visitor.screenshot("2-widget-text-and-png").await;

    // Hostile text renders as text.
    widget_send(&visitor, HOSTILE_TEXT).await;
    let handoff = visitor.find_in(WIDGET, "[data-testid=handoff]").await;
    visitor.click(&handoff).await;
    visitor
        .wait_for_text(WIDGET, ".status", "finding someone", 10)
        .await;

    // The offer reaches the console over the WebSocket; the agent accepts and sees the
    // conversation so far.
    agent.wait_for_text(None, "#offers li", "Accept", 30).await;
    agent.screenshot("3-console-offer").await;
    let accept = agent.find("#offers li button").await;
    agent.click(&accept).await;
    agent
        .wait_for_text(None, ".messages .msg", "Where is my order 1042?", 15)
        .await;
    agent
        .wait_for_text(None, ".messages .msg a", &file_name, 15)
        .await;
    agent
        .wait_for_text(None, ".messages .msg", "<img src=x onerror=", 15)
        .await;

    // A reply, then an internal note.
    let reply = agent.find("[data-testid=reply]").await;
    agent
        .type_into(&reply, &format!("It ships today from Bergen.{ENTER}"))
        .await;
    agent
        .wait_for_text(None, ".messages .msg.agent", "It ships today", 10)
        .await;
    let note_toggle = agent.find("[data-testid=note-toggle]").await;
    agent.click(&note_toggle).await;
    let reply = agent.find("[data-testid=reply]").await;
    agent
        .type_into(
            &reply,
            &format!("Customer asked twice; check the courier.{ENTER}"),
        )
        .await;
    agent
        .wait_for_text(None, ".messages .msg.note", "check the courier", 10)
        .await;
    agent.screenshot("4-console-reply-and-note").await;

    // The inbox is the server's: the accepted conversation is in "mine"; marking it urgent
    // shows on its row.
    agent.wait_for_text(None, "#inbox li", "open", 15).await;
    // Typing into a select picks the option as a keyboard user does.
    let priority = agent.find("[data-testid=priority]").await;
    agent.type_into(&priority, "urgent").await;
    agent.wait_for_text(None, "#inbox li", "urgent", 15).await;
    agent.screenshot("4b-console-inbox-priority").await;

    // The agent sends a file too; the visitor gets its link.
    let (label, label_name) = fresh_png();
    let console_file = agent.find("[data-testid=console-file]").await;
    agent.choose_file(&console_file, &label).await;
    agent
        .wait_for_text(None, ".messages .msg.agent a", &label_name, 20)
        .await;
    visitor
        .wait_for_text(WIDGET, ".msg.theirs a", &label_name, 20)
        .await;
    let _ = std::fs::remove_file(label);

    // The visitor sees the reply, pushed, and never the note.
    visitor
        .wait_for_text(WIDGET, ".msg.theirs", "It ships today", 15)
        .await;
    let shown = visitor.texts(WIDGET, ".body").await.join("\n");
    assert!(
        !shown.contains("check the courier"),
        "the widget shows an internal note: {shown}"
    );
    visitor.screenshot("5-widget-reply").await;

    // A rich message with a javascript: link, as one stored before links were checked on the
    // way in (the API refuses it now: messages_api.rs): the widget shows the link as inert text.
    let visitor_token = visitor_token(&visitor).await;
    let conversations = app.get("/v1/conversations", &visitor_token).await;
    let cid = conversations.body["conversations"][0]["id"]
        .as_str()
        .expect("the visitor's conversation")
        .to_string();
    let conversation = app.stored_conversation(&cid).await;
    let mut legacy = use_cases::contract::message(&conversation, "agent-ada", "rich-1", "");
    legacy.author_role = AuthorRole::Agent;
    legacy.kind = MessageKind::Rich;
    legacy.text = Some("Track it here:\n[Open tracking] javascript:alert(1)".into());
    legacy.rich = Some(
        json!({"layout": "buttons", "text": "Track it here:", "buttons": [
            {"label": "Open tracking", "url": "javascript:alert(1)"},
            {"label": "Courier site", "url": "https://courier.example/track/1042"}
        ]}),
    );
    legacy.created_at = domain::now_ms();
    app.backend
        .store
        .append_message(&legacy)
        .await
        .expect("store the legacy message");
    visitor
        .wait_for_text(WIDGET, ".msg .inert", "Open tracking", 15)
        .await;
    let links = visitor
        .run(
            "return [...document.querySelector('#relay-widget').shadowRoot \
             .querySelectorAll('a')].map(a => a.href);",
            vec![],
        )
        .await;
    let links: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        links.contains(&"https://courier.example/track/1042"),
        "{links:?}"
    );
    assert!(
        links.iter().all(|l| !l.starts_with("javascript:")),
        "{links:?}"
    );
    // Nothing of the hostile text ran, in either browser.
    assert_eq!(pwned(&visitor).await, Value::Null);
    assert_eq!(pwned(&agent).await, Value::Null);
    visitor
        .wait_for_text(
            WIDGET,
            ".msg.mine",
            "<script>window.__pwned = 1</script>",
            5,
        )
        .await;

    // The agent ends the session; the visitor's next message starts session 2.
    let end = agent.find("[data-testid=end-session]").await;
    agent.click(&end).await;
    agent
        .wait_for_text(None, "[data-testid=facts]", "session 1 ended", 10)
        .await;
    visitor.wait_for_text(WIDGET, ".head h2", "ended", 15).await;
    widget_send(&visitor, "One more thing: can I change the address?").await;
    let conversation = app
        .get(&format!("/v1/conversations/{cid}"), &agent_token)
        .await;
    assert_eq!(
        conversation.body["session_no"], 2,
        "{:?}",
        conversation.body
    );
    assert_eq!(conversation.body["session"], "active");
    visitor.screenshot("6-widget-session-2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_changes_settings_in_the_console_and_is_told_of_a_conflict() {
    let app = TestApp::start().await;
    let admin_token = app.token(Role::Admin, "admin-ana");
    let admin = Browser::start(1280, 800).await;
    admin
        .goto(&format!("{}/console/#token={admin_token}", app.base_url))
        .await;
    let tab = admin.find("#settings-tab").await;
    admin.click(&tab).await;
    admin
        .wait_for_text(None, "#settings-if-match", "0", 10)
        .await;
    admin
        .wait_for_text(None, "#settings-document", "allowed_origins", 10)
        .await;

    // Another admin changes the settings meanwhile.
    app.patch_settings(
        &app.token(Role::Admin, "admin-bo"),
        json!({"routing": {"method": "round_robin"}}),
    )
    .await;
    let patch = admin.find("#settings-patch").await;
    admin.clear(&patch).await;
    admin
        .type_into(
            &patch,
            r#"{"widget": {"allowed_origins": ["https://shop.example"]}}"#,
        )
        .await;
    let apply = admin.find("#settings-apply").await;
    admin.click(&apply).await;
    // Nothing applied; the page says why and which version is current.
    admin
        .wait_for_text(None, "#settings-result", "someone changed the settings", 10)
        .await;
    admin
        .wait_for_text(None, "#settings-result", "it is now version 1", 10)
        .await;
    admin.screenshot("7-console-settings-conflict").await;
    let settings = app.get("/v1/settings", &admin_token).await;
    assert_eq!(settings.body["version"], 1);
    assert_eq!(
        settings.body["settings"]["widget"]["allowed_origins"],
        json!([])
    );

    // Reload shows the other admin's change and the new If-Match; applying again works.
    let reload = admin.find("#settings-reload").await;
    admin.click(&reload).await;
    admin
        .wait_for_text(None, "#settings-document", "round_robin", 10)
        .await;
    admin
        .wait_for_text(None, "#settings-if-match", "1", 10)
        .await;
    admin.click(&apply).await;
    admin
        .wait_for_text(None, "#settings-result", "Saved as version 2", 10)
        .await;
    let settings = app.get("/v1/settings", &admin_token).await;
    assert_eq!(
        settings.body["settings"]["widget"]["allowed_origins"],
        json!(["https://shop.example"])
    );
}

/// The in-memory gateway (`cargo run -p local-gateway` without an endpoint) takes uploads
/// itself, with a signed PUT instead of S3's POST: the widget handles both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_uploads_to_the_in_memory_gateway_too() {
    let app = in_memory_app().await;
    let visitor = visitor_starts_a_conversation(&app, "Here is the receipt").await;
    widget_attaches_a_png(&visitor).await;
    // The link downloads the very bytes.
    let href = visitor
        .run(
            "return document.querySelector('#relay-widget').shadowRoot \
             .querySelector('.msg.mine a').href;",
            vec![],
        )
        .await;
    let downloaded = reqwest::get(href.as_str().expect("a link"))
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(downloaded.to_vec(), integration_tests::files::png());

    // Staff redact the file's message: the open widget replaces it at once (a
    // `message.redacted` frame), and the link is gone.
    let token = visitor_token(&visitor).await;
    let mine = app.get("/v1/conversations", &token).await;
    let cid = mine.body["conversations"][0]["id"]
        .as_str()
        .expect("the visitor's conversation")
        .to_string();
    let file_message = app
        .stored_messages(&cid)
        .await
        .into_iter()
        .find(|m| m.kind == MessageKind::Attachment)
        .expect("the file's message");
    let redacted = app
        .post(
            &format!(
                "/v1/conversations/{cid}/messages/{}/redact",
                file_message.seq
            ),
            &app.token(Role::Agent, "ag-1"),
            json!({}),
        )
        .await;
    assert_eq!(
        redacted.status,
        reqwest::StatusCode::OK,
        "{:?}",
        redacted.body
    );
    visitor
        .wait_for_text(
            WIDGET,
            ".msg.mine .redacted",
            "This message was removed.",
            10,
        )
        .await;
    let links = visitor
        .run(
            "return document.querySelector('#relay-widget').shadowRoot \
             .querySelectorAll('.msg.mine a').length;",
            vec![],
        )
        .await;
    assert_eq!(links, json!(0));
    visitor.screenshot("widget-redacted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_opens_at_the_end_and_scrolls_back_through_a_long_history() {
    let app = in_memory_app().await;
    let visitor = visitor_starts_a_conversation(&app, "the very first message").await;
    let token = visitor_token(&visitor).await;
    let cid = app.get("/v1/conversations", &token).await.body["conversations"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 2..=80 {
        app.send_text(&cid, &token, &format!("m{i}"), &format!("message {i}"))
            .await;
    }
    // Reopen: the newest page only.
    let back = visitor.find_in(WIDGET, "[data-testid=back]").await;
    visitor.click(&back).await;
    let item = visitor.find_in(WIDGET, ".list button.item").await;
    visitor.click(&item).await;
    visitor
        .wait_for_text(WIDGET, ".msg.mine", "message 80", 10)
        .await;
    let shown = visitor.texts(WIDGET, ".msg.mine").await;
    assert!(shown.len() <= 30, "{} messages on open", shown.len());
    assert!(!shown.iter().any(|t| t.contains("the very first")));
    // Scrolling to the top loads older pages until the first message.
    let scroll_up = "const body = document.querySelector('#relay-widget').shadowRoot \
        .querySelector('[data-testid=body]'); body.scrollTop = 0; \
        body.dispatchEvent(new Event('scroll'));";
    for _ in 0..20 {
        visitor.run(scroll_up, vec![]).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if visitor
            .texts(WIDGET, ".msg.mine")
            .await
            .iter()
            .any(|t| t.contains("the very first"))
        {
            break;
        }
    }
    let all = visitor.texts(WIDGET, ".msg.mine").await;
    let mut expected = vec!["the very first message".to_string()];
    expected.extend((2..=80).map(|i| format!("message {i}")));
    assert_eq!(all, expected, "every message once, in order");
    visitor.screenshot("8-widget-history-scrolled-back").await;
}

/// On a phone the panel takes the whole screen and closes with its own button.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_fills_a_phone_screen_and_closes_from_its_header() {
    let app = in_memory_app().await;
    let phone = Browser::start_phone(390, 844).await;
    phone
        .goto(&format!(
            "{}/demo/?account={}",
            app.base_url, app.account.id
        ))
        .await;
    open_and_start(&phone, "Hello from my phone").await;
    let geometry = phone
        .run(
            "const panel = document.querySelector('#relay-widget').shadowRoot \
             .querySelector('.panel').getBoundingClientRect(); \
             return [panel.left, panel.top, panel.width, panel.height, innerWidth, innerHeight];",
            vec![],
        )
        .await;
    let [left, top, width, height, inner_width, inner_height] =
        serde_json::from_value::<[f64; 6]>(geometry).expect("numbers");
    assert_eq!((left, top), (0.0, 0.0));
    assert_eq!((width, height), (inner_width, inner_height));
    phone.screenshot("9-widget-on-a-phone").await;
    let close = phone.find_in(WIDGET, ".head .close").await;
    phone.click(&close).await;
    let open = phone
        .run(
            "return document.querySelector('#relay-widget').shadowRoot \
             .querySelector('.panel').classList.contains('open');",
            vec![],
        )
        .await;
    assert_eq!(open, json!(false));
}

/// The policy violations Chromium reported for pages of `app`'s gateway.
pub(super) async fn csp_violations(app: &TestApp) -> Vec<Value> {
    let all: Value = reqwest::get(format!("{}/__csp-reports", app.base_url))
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("a JSON list");
    all.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r["csp-report"]["document-uri"]
                .as_str()
                .is_some_and(|uri| uri.starts_with(&app.base_url))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_and_the_console_work_under_a_strict_policy_and_a_violation_is_reported() {
    let app = in_memory_app().await;
    let visitor = visitor_starts_a_conversation(&app, "Hello under a strict policy").await;
    // Styled by its constructed stylesheet (no inline style is allowed), and the file input
    // hidden without a style attribute.
    let looks = visitor
        .run(
            "const root = document.querySelector('#relay-widget').shadowRoot; \
             return [getComputedStyle(root.querySelector('.launcher')).backgroundColor, \
                     getComputedStyle(root.querySelector('[data-testid=file]')).display, \
                     getComputedStyle(root.querySelector('.panel')).display];",
            vec![],
        )
        .await;
    assert_eq!(looks, json!(["rgb(36, 87, 214)", "none", "flex"]));
    let console = Browser::start(1280, 800).await;
    console.goto(&format!("{}/console/", app.base_url)).await;
    console.find("body").await;
    let policy = reqwest::get(format!("{}/demo/?account={}", app.base_url, app.account.id))
        .await
        .expect("the shop")
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default();
    assert!(policy.contains("style-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    // Nothing either page did broke the policy.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(csp_violations(&app).await, Vec::<Value>::new());

    // Control: an inline style is refused and reported.
    visitor
        .run(
            "document.body.setAttribute('style', 'outline: 5px solid red'); return null;",
            vec![],
        )
        .await;
    let mut reported = Vec::new();
    for _ in 0..50 {
        reported = csp_violations(&app).await;
        if !reported.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let directive = reported
        .first()
        .and_then(|r| r["csp-report"]["violated-directive"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(directive.starts_with("style-src"), "{reported:?}");
}
