//! The widget and the console for everyone (#39): keyboard only, what a screen reader is told
//! (focus, states, live regions), axe-core's checks on every state a user sees, French and
//! English, and the page's JavaScript API, in a real browser under the strict policy.

use std::time::{Duration, Instant};

use domain::model::Role;
use integration_tests::agents::agent_with_capacity;
use integration_tests::browser::{keys, Browser};
use integration_tests::TestApp;
use serde_json::{json, Value};

const WIDGET: Option<&str> = Some("#relay-widget");

/// What a screen reader and a keyboard user get from the widget right now.
const WIDGET_STATE: &str = "const root = document.querySelector('#relay-widget').shadowRoot; \
    const launcher = root.querySelector('.launcher'); \
    const badge = root.querySelector('[data-testid=badge]'); \
    const focused = root.activeElement; \
    return { open: root.querySelector('.panel').classList.contains('open'), \
      expanded: launcher.getAttribute('aria-expanded'), \
      label: launcher.getAttribute('aria-label'), \
      focus: focused ? (focused.dataset.testid || focused.className || focused.tagName) : null, \
      badge: badge.hidden ? null : badge.textContent, \
      heard: root.querySelector('[data-testid=announcer]').textContent, \
      first_button: (root.querySelector('.body button') || {}).textContent || null };";

async fn widget_state(browser: &Browser) -> Value {
    browser.run(WIDGET_STATE, vec![]).await
}

/// Polls the widget's state until `check` holds (10 s at most).
async fn wait_for_state(browser: &Browser, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = widget_state(browser).await;
        if check(&state) {
            return state;
        }
        if Instant::now() >= deadline {
            let shot = browser.screenshot("access-timed-out").await;
            panic!("{what}: never; last state {state} ({})", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn assert_no_axe_violations(browser: &Browser, page: &str) {
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "axe-core on {page}: {violations:#?}");
}

fn chars(text: &str) -> Vec<String> {
    text.chars().map(String::from).collect()
}

async fn press(browser: &Browser, keys: &[&str]) {
    browser.press(keys).await;
}

async fn type_text(browser: &Browser, text: &str) {
    let keys = chars(text);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    browser.press(&refs).await;
}

/// The only visitor's token, from the widget's saved visitor.
async fn visitor_token(browser: &Browser) -> String {
    browser
        .run(
            "const k = Object.keys(localStorage).find(k => k.startsWith('relay-widget:')); \
             return k ? JSON.parse(localStorage.getItem(k)).token : null;",
            vec![],
        )
        .await
        .as_str()
        .expect("the widget saved its visitor")
        .to_string()
}

/// The demo shop of `app`'s account, with `query` appended (`&locale=fr`).
fn shop(app: &TestApp, query: &str) -> String {
    format!("{}/demo/?account={}{query}", app.base_url, app.account.id)
}

/// `browser` signed in to the console as `role` `sub`, its header showing who.
pub(super) async fn sign_in(browser: &Browser, app: &TestApp, role: Role, sub: &str) {
    let token = app.token(role, sub);
    browser
        .goto(&format!("{}/console/#token={token}", app.base_url))
        .await;
    browser.wait_for_text(None, "#who", sub, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitor_uses_the_widget_with_the_keyboard_alone_and_hears_replies() {
    let app = TestApp::start_in_memory().await;
    let visitor = Browser::start(1280, 800).await;
    visitor.goto(&shop(&app, "")).await;
    visitor.find_in(WIDGET, ".launcher").await;
    assert_no_axe_violations(&visitor, "the shop, widget closed").await;

    // Tab from the top of the page reaches the launcher, which says the chat is closed.
    let mut state = widget_state(&visitor).await;
    for _ in 0..15 {
        if state["focus"] == json!("launcher") {
            break;
        }
        press(&visitor, &[keys::TAB]).await;
        state = widget_state(&visitor).await;
    }
    assert_eq!(state["focus"], json!("launcher"), "{state}");
    assert_eq!(state["expanded"], json!("false"));
    assert_eq!(state["label"], json!("Open the support chat"));

    // Enter opens it and moves the focus in: to the first button of the list.
    press(&visitor, &[keys::ENTER]).await;
    let state = wait_for_state(&visitor, "focus on the new-conversation button", |s| {
        s["focus"] == json!("new-conversation")
    })
    .await;
    assert_eq!(state["open"], json!(true));
    assert_eq!(state["expanded"], json!("true"));
    assert_eq!(state["label"], json!("Close the support chat"));
    assert_no_axe_violations(&visitor, "the widget open").await;

    // Enter starts a conversation and lands in the composer; typing and Enter send.
    press(&visitor, &[keys::ENTER]).await;
    wait_for_state(&visitor, "focus in the composer", |s| {
        s["focus"] == json!("composer")
    })
    .await;
    type_text(&visitor, "Hello by keyboard only").await;
    press(&visitor, &[keys::ENTER]).await;
    visitor
        .wait_for_text(WIDGET, ".msg.mine", "Hello by keyboard only", 10)
        .await;
    assert_no_axe_violations(&visitor, "the widget with messages").await;
    visitor.screenshot("access-1-keyboard-conversation").await;

    // Escape closes and gives the focus back to the launcher.
    press(&visitor, &[keys::ESCAPE]).await;
    let state = widget_state(&visitor).await;
    assert_eq!(
        (&state["open"], &state["expanded"], &state["focus"]),
        (&json!(false), &json!("false"), &json!("launcher")),
        "{state}"
    );
    assert_eq!(state["badge"], Value::Null);

    // A reply while the panel is closed: a badge, the launcher's label says it, and the
    // live log reads it out.
    let token = visitor_token(&visitor).await;
    let conversations = app.get("/v1/conversations", &token).await;
    let cid = conversations.body["conversations"][0]["id"]
        .as_str()
        .expect("the visitor's conversation")
        .to_string();
    let agent = app.token(Role::Agent, "agent-ada");
    let reply = app
        .send_text(&cid, &agent, "reply-1", "We are on it, one moment")
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    let state = wait_for_state(&visitor, "an unread badge", |s| s["badge"] == json!("1")).await;
    assert_eq!(state["label"], json!("Open the support chat (1 unread)"));
    assert!(
        state["heard"]
            .as_str()
            .is_some_and(|h| h.contains("Support: We are on it, one moment")),
        "{state}"
    );
    visitor.screenshot("access-2-unread-badge").await;

    // Opening reads it: the badge goes.
    press(&visitor, &[keys::ENTER]).await;
    let state = wait_for_state(&visitor, "the badge gone", |s| s["open"] == json!(true)).await;
    assert_eq!(state["badge"], Value::Null, "{state}");
    // All of it under the strict policy, which nothing broke.
    assert_eq!(
        crate::browser::csp_violations(&app).await,
        Vec::<Value>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_in_french_fills_a_phone_screen_and_passes_axe() {
    let app = TestApp::start_in_memory().await;
    let phone = Browser::start_phone(390, 844).await;
    phone.goto(&shop(&app, "&locale=fr")).await;
    crate::browser::open_and_start(&phone, "Bonjour depuis mon téléphone").await;
    let close = phone.texts(WIDGET, ".head .close").await;
    assert_eq!(close, vec!["Fermer".to_string()]);
    // The visitor's token carries the widget's language: the bot answers in French.
    phone
        .wait_for_text(WIDGET, ".msg.theirs", "assistant virtuel", 10)
        .await;
    let button = phone.texts(WIDGET, ".msg.theirs .chip").await;
    assert_eq!(button, vec![domain::locale::FR.handoff_label.to_string()]);
    assert_no_axe_violations(&phone, "the widget in French on a phone").await;
    phone.screenshot("access-7-widget-french-phone").await;
    assert_eq!(
        crate::browser::csp_violations(&app).await,
        Vec::<Value>::new()
    );
}

/// What a site's own script does before the widget's script has loaded: define the queue,
/// listen, pick French and open.
const SITE_SNIPPET: &str = "window.RelayWidget = window.RelayWidget || function () { \
      (RelayWidget.q = RelayWidget.q || []).push([].slice.call(arguments)); }; \
    window.__events = []; \
    RelayWidget('on', 'open', () => __events.push('open')); \
    RelayWidget('on', 'close', () => __events.push('close')); \
    RelayWidget('setLocale', 'fr-CA'); \
    RelayWidget('open');";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_drives_the_widget_before_it_loads_and_it_speaks_french() {
    let app = TestApp::start_in_memory().await;
    let visitor = Browser::start(1280, 800).await;
    visitor.before_each_page(SITE_SNIPPET).await;
    visitor.goto(&shop(&app, "")).await;

    // The queued calls ran once the widget was ready, in order: French, then open.
    let state = wait_for_state(&visitor, "the panel open in French", |s| {
        s["first_button"] == json!("Nouvelle conversation")
    })
    .await;
    assert_eq!(state["open"], json!(true));
    assert_eq!(
        state["label"],
        json!("Fermer la discussion avec le support")
    );
    let events = visitor.run("return window.__events;", vec![]).await;
    assert_eq!(events, json!(["open"]));
    let lang = visitor
        .run(
            "return document.querySelector('#relay-widget').lang;",
            vec![],
        )
        .await;
    assert_eq!(lang, json!("fr"));
    let start = visitor
        .find_in(WIDGET, "[data-testid=new-conversation]")
        .await;
    visitor.click(&start).await;
    let composer = visitor.find_in(WIDGET, "[data-testid=composer]").await;
    visitor
        .type_into(
            &composer,
            &format!("Bonjour, où est ma commande ?{}", keys::ENTER),
        )
        .await;
    visitor
        .wait_for_text(WIDGET, ".msg.mine", "où est ma commande", 10)
        .await;
    let handoff = visitor.texts(WIDGET, "[data-testid=handoff]").await;
    assert_eq!(handoff, vec!["Parler à une personne".to_string()]);
    assert_no_axe_violations(&visitor, "the widget in French").await;
    visitor.screenshot("access-3-widget-in-french").await;

    // setLocale and close after load; the page's events follow.
    visitor
        .run("RelayWidget.setLocale('en'); return null;", vec![])
        .await;
    visitor
        .wait_for_text(WIDGET, "[data-testid=handoff]", "Talk to a person", 10)
        .await;
    visitor
        .run("RelayWidget('close'); return null;", vec![])
        .await;
    let events = visitor.run("return window.__events;", vec![]).await;
    assert_eq!(events, json!(["open", "close"]));
    let state = widget_state(&visitor).await;
    assert_eq!(state["label"], json!("Open the support chat"));

    // hide() removes the launcher too; show() brings it back.
    let shown = "RelayWidget('hide'); const a = document.querySelector('#relay-widget') \
        .shadowRoot.querySelector('.launcher').getClientRects().length; \
        RelayWidget.show(); const b = document.querySelector('#relay-widget') \
        .shadowRoot.querySelector('.launcher').getClientRects().length; return [a, b];";
    assert_eq!(visitor.run(shown, vec![]).await, json!([0, 1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_data_locale_attribute_picks_french_and_an_unknown_one_falls_back_to_english() {
    let app = TestApp::start_in_memory().await;
    for (locale, expected) in [
        ("fr", "Ouvrir la discussion avec le support"),
        ("de", "Open the support chat"),
    ] {
        let visitor = Browser::start(1280, 800).await;
        visitor
            .goto(&shop(&app, &format!("&locale={locale}")))
            .await;
        let state = wait_for_state(&visitor, "the launcher labelled", |s| {
            s["label"].is_string()
        })
        .await;
        assert_eq!(state["label"], json!(expected), "data-locale={locale}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_hears_new_offers_and_the_console_passes_axe() {
    // The product on the emulator, its router running (offers need it).
    let app = TestApp::start_product().await;
    agent_with_capacity(&app, "agent-ada", (3, 0), &[], "offline").await;
    let agent = Browser::start(1280, 800).await;
    sign_in(&agent, &app, Role::Agent, "agent-ada").await;
    assert_no_axe_violations(&agent, "the console's inbox").await;

    // The status toggles say which one is on, not only by colour.
    let online = agent.find("[data-status=online]").await;
    agent.click(&online).await;
    agent
        .wait_for_text(None, ".statuses .active", "Online", 10)
        .await;
    let pressed = agent
        .run(
            "return [...document.querySelectorAll('[data-status]')] \
               .map(b => b.dataset.status + ':' + b.getAttribute('aria-pressed'));",
            vec![],
        )
        .await;
    assert_eq!(
        pressed,
        json!(["online:true", "away:false", "offline:false"])
    );

    // A customer asks for a person: the offer is announced.
    let cid = app.new_conversation("customer-1").await;
    let customer = app.token(Role::EndUser, "customer-1");
    let reply = app
        .send_text(&cid, &customer, "c-1", "I need a person")
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &customer,
            json!({"reason": "asked"}),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
    agent
        .wait_for_text(None, "#announcer", "New conversation offered", 30)
        .await;
    assert_no_axe_violations(&agent, "the console with an offer").await;
    let accept = agent.find("#offers li button").await;
    agent.click(&accept).await;
    agent
        .wait_for_text(None, ".messages .msg", "I need a person", 15)
        .await;
    assert_no_axe_violations(&agent, "the console's conversation").await;
    agent.screenshot("access-4-console-conversation").await;

    // An admin's settings page.
    let admin = Browser::start(1280, 800).await;
    sign_in(&admin, &app, Role::Admin, "admin-1").await;
    let tab = admin.find("#settings-tab").await;
    admin.click(&tab).await;
    admin
        .wait_for_text(None, "#settings-version", "version", 10)
        .await;
    let pressed = admin
        .run(
            "return [...document.querySelectorAll('.tab')].map(b => b.getAttribute('aria-pressed'));",
            vec![],
        )
        .await;
    assert_eq!(pressed, json!(["false", "true", "false"]));
    assert_no_axe_violations(&admin, "the console's settings").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_identifies_its_user_with_a_refreshing_callback_and_logs_out() {
    let app = TestApp::start_in_memory().await;
    let now = domain::now_ms() / 1000;
    // The first token expires in 61 s, so the widget asks for the next one about a second
    // after it had it (a minute before expiry).
    let tokens = json!([
        crate::workspace::end_user_token(&app, "ada", json!({"exp": now + 61, "name": "Ada"})),
        crate::workspace::end_user_token(&app, "ada", json!({"name": "Ada"})),
    ]);
    let snippet = format!(
        "window.__calls = 0; const tokens = {tokens}; {queue} \
         RelayWidget('identify', () => Promise.resolve(tokens[Math.min(window.__calls++, 1)])); \
         RelayWidget('open');",
        queue = "window.RelayWidget = window.RelayWidget || function () { \
                 (RelayWidget.q = RelayWidget.q || []).push([].slice.call(arguments)); };"
    );
    let visitor = Browser::start(1280, 800).await;
    visitor.before_each_page(&snippet).await;
    visitor.goto(&shop(&app, "")).await;
    visitor
        .wait_until(
            "return window.__calls >= 2;",
            15,
            "the callback was not called again",
        )
        .await;
    // Under the refreshed token the conversation is Ada's.
    let start = visitor
        .find_in(WIDGET, "[data-testid=new-conversation]")
        .await;
    visitor.click(&start).await;
    let composer = visitor.find_in(WIDGET, "[data-testid=composer]").await;
    visitor
        .type_into(&composer, &format!("Hello, it is Ada{}", keys::ENTER))
        .await;
    visitor
        .wait_for_text(WIDGET, ".msg.mine", "Hello, it is Ada", 10)
        .await;
    let adas = app
        .get("/v1/conversations", &app.token(Role::EndUser, "ada"))
        .await;
    assert_eq!(
        adas.body["conversations"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        adas.body
    );

    // On a shared computer the next person must not see Ada's conversations.
    visitor
        .run("RelayWidget.logout(); return null;", vec![])
        .await;
    let listed = visitor.texts(WIDGET, ".list .item").await;
    assert_eq!(listed, Vec::<String>::new());
    // The panel is open, so a new anonymous visitor starts at once.
    visitor
        .wait_until(
            "return Object.keys(localStorage).some(k => k.startsWith('relay-widget:'));",
            10,
            "no new visitor after logout",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listed = visitor.texts(WIDGET, ".list .item").await;
    assert_eq!(listed, Vec::<String>::new(), "Ada's conversations are gone");
    let back = visitor
        .find_in(WIDGET, "[data-testid=new-conversation]")
        .await;
    visitor.click(&back).await;
    visitor.find_in(WIDGET, "[data-testid=composer]").await;
    let visitor_token = visitor_token(&visitor).await;
    let theirs = app.get("/v1/conversations", &visitor_token).await;
    assert_eq!(theirs.status, reqwest::StatusCode::OK);
    let ids: Vec<Value> = theirs.body["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ids.len(), 1, "the new visitor's own conversation only");
    assert_ne!(ids[0]["id"], adas.body["conversations"][0]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_sees_the_pages_the_visitor_was_on_without_their_queries() {
    let app = TestApp::start_in_memory().await;
    let visitor = Browser::start(1280, 800).await;
    visitor.goto(&shop(&app, "")).await;
    crate::browser::open_and_start(&visitor, "Is the Aurora mug in stock?").await;
    // A second page, with a query that must never reach an agent.
    visitor.goto(&shop(&app, "&coupon=SECRET-42")).await;
    let token = visitor_token(&visitor).await;
    let cid = app.get("/v1/conversations", &token).await.body["conversations"][0]["id"]
        .as_str()
        .expect("the visitor's conversation")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = app.stored_conversation(&cid).await;
        if stored.visitor_context.is_some_and(|c| c.pages.len() == 2) {
            break;
        }
        assert!(Instant::now() < deadline, "the second page never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let agent = Browser::start(1280, 800).await;
    sign_in(&agent, &app, Role::Agent, "agent-ada").await;
    let open = agent.find("#open-id").await;
    agent
        .type_into(&open, &format!("{cid}{}", keys::ENTER))
        .await;
    agent
        .wait_for_text(None, "[data-testid=visitor] summary", "2 pages", 10)
        .await;
    let summary = agent.texts(None, "[data-testid=visitor] summary").await;
    assert!(summary[0].contains("desktop"), "{summary:?}");
    let details = agent.find("[data-testid=visitor] summary").await;
    agent.click(&details).await;
    let paths = agent.texts(None, "[data-testid=visitor] .pages code").await;
    assert_eq!(paths, vec!["/demo/".to_string(), "/demo/".to_string()]);
    let page_text = agent.run("return document.body.innerText;", vec![]).await;
    assert!(!page_text.as_str().unwrap_or_default().contains("SECRET"));
    assert_no_axe_violations(&agent, "the console with visitor context").await;
    agent.screenshot("access-5-console-visitor-context").await;
}

/// Desktop notifications and sound, recorded instead of shown and played (a headless browser
/// has neither): what the console asked for is what the test reads.
const ALERT_RECORDER: &str = "window.__notes = []; window.__tones = 0; \
    window.Notification = class { constructor(title, options) { __notes.push(options.body); } \
      static get permission() { return 'granted'; } \
      static requestPermission() { return Promise.resolve('granted'); } }; \
    window.AudioContext = class { constructor() { this.currentTime = 0; this.destination = {}; } \
      createGain() { return { gain: {}, connect: (next) => next }; } \
      createOscillator() { __tones++; return { frequency: {}, connect: (next) => next, \
        start() {}, stop() {} }; } };";

/// A customer's conversation handed to agents; its id.
async fn customer_asks_for_a_person(app: &TestApp, customer: &str, text: &str) -> String {
    let cid = app.new_conversation(customer).await;
    let token = app.token(Role::EndUser, customer);
    let sent = app.send_text(&cid, &token, "m-1", text).await;
    assert!(sent.status.is_success(), "{:?}", sent.body);
    let handed = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &token,
            json!({"reason": "asked"}),
        )
        .await;
    assert!(handed.status.is_success(), "{:?}", handed.body);
    cid
}

async fn recorded(agent: &Browser) -> (usize, u64, String) {
    let seen = agent
        .run(
            "return [window.__notes.length, window.__tones, document.title];",
            vec![],
        )
        .await;
    (
        seen[0].as_u64().unwrap_or_default() as usize,
        seen[1].as_u64().unwrap_or_default(),
        seen[2].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_is_alerted_to_offers_and_works_conversations_as_tabs() {
    let app = TestApp::start_product().await;
    agent_with_capacity(&app, "agent-ada", (3, 0), &[], "online").await;
    let agent = Browser::start(1280, 800).await;
    agent.before_each_page(ALERT_RECORDER).await;
    sign_in(&agent, &app, Role::Agent, "agent-ada").await;

    // Two offers: a notification and a tone each, and the title counts them.
    let first = customer_asks_for_a_person(&app, "cust-1", "Where is my parcel?").await;
    agent.wait_for_text(None, "#offers li", "Accept", 30).await;
    let second = customer_asks_for_a_person(&app, "cust-2", "Wrong colour received").await;
    agent
        .wait_until(
            "return document.querySelectorAll('#offers li[data-offer]').length >= 2;",
            30,
            "the second offer never came",
        )
        .await;
    let (notes, tones, title) = recorded(&agent).await;
    assert_eq!((notes, tones), (2, 2));
    assert!(title.starts_with("(2) "), "{title}");

    // Muted: the next offer is still notified, silently; the choice is remembered.
    let sound = agent.find("#sound-toggle").await;
    agent.click(&sound).await;
    let pressed = agent
        .run(
            "return [document.getElementById('sound-toggle').getAttribute('aria-pressed'), \
                     localStorage.getItem('relay-console-sound')];",
            vec![],
        )
        .await;
    assert_eq!(pressed, json!(["false", "off"]));
    customer_asks_for_a_person(&app, "cust-3", "Invoice please").await;
    agent
        .wait_until(
            "return document.querySelectorAll('#offers li[data-offer]').length >= 3;",
            30,
            "the third offer never came",
        )
        .await;
    let (notes, tones, title) = recorded(&agent).await;
    assert_eq!((notes, tones), (3, 2));
    assert!(title.starts_with("(3) "), "{title}");

    // Two accepted conversations open as tabs; the last accepted is shown.
    for cid in [&first, &second] {
        let accept = agent
            .find(&format!("#offers li[data-offer='{cid}'] button"))
            .await;
        agent.click(&accept).await;
        agent
            .wait_for_text(None, "#conv-tabs [aria-current=true]", "cust", 15)
            .await;
    }
    agent
        .wait_for_text(None, ".messages .msg", "Wrong colour received", 15)
        .await;
    assert_eq!(agent.texts(None, "#conv-tabs .open").await.len(), 2);
    // A conversation without visitor context shows nothing in its place (it once said "null").
    let shown = agent.texts(None, "#conversation").await.join(" ");
    assert!(!shown.contains("null"), "{shown}");

    // The first customer writes while the second is shown: the first tab is marked.
    let cust1 = app.token(Role::EndUser, "cust-1");
    app.send_text(&first, &cust1, "m-2", "Any news?").await;
    agent
        .wait_for_text(None, "#conv-tabs .unread .open", "cust-1", 15)
        .await;
    assert_no_axe_violations(&agent, "the console with two tabs").await;
    agent.screenshot("access-6-console-tabs").await;
    let tab = agent.find(&format!("[data-tab='{first}']")).await;
    agent.click(&tab).await;
    agent
        .wait_for_text(None, ".messages .msg", "Any news?", 15)
        .await;
    assert_eq!(agent.texts(None, "#conv-tabs .unread").await.len(), 0);

    // Closing the shown tab shows the other.
    let close = agent
        .find(&format!(
            ".conv-tab:has([data-tab='{first}']) button[aria-label^=Close]"
        ))
        .await;
    agent.click(&close).await;
    agent
        .wait_for_text(None, ".messages .msg", "Wrong colour received", 15)
        .await;
    assert_eq!(agent.texts(None, "#conv-tabs .open").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_switches_the_console_to_french_and_it_stays_french() {
    let app = TestApp::start_in_memory().await;
    let admin = Browser::start(1280, 800).await;
    sign_in(&admin, &app, Role::Admin, "admin-1").await;
    admin
        .wait_for_text(None, "[data-status=online]", "Online", 10)
        .await;
    admin
        .run(
            "const menu = document.getElementById('language'); menu.value = 'fr'; \
             menu.dispatchEvent(new Event('change')); return null;",
            vec![],
        )
        .await;
    admin
        .wait_for_text(None, "[data-status=online]", "En ligne", 10)
        .await;
    let texts = admin
        .run(
            "return [document.documentElement.lang, document.title, \
               document.querySelector('#offers li').textContent, \
               document.getElementById('open-id').placeholder];",
            vec![],
        )
        .await;
    assert_eq!(
        texts,
        json!([
            "fr",
            "Console agent Relay",
            "Aucune proposition. Passez en ligne pour en recevoir.",
            "Ouvrir une conversation par son identifiant (c_…)"
        ])
    );
    assert_no_axe_violations(&admin, "the console in French").await;
    admin.screenshot("access-8-console-in-french").await;
    // The choice is remembered: the next visit is in French too.
    admin.goto(&format!("{}/console/", app.base_url)).await;
    admin
        .wait_for_text(None, "[data-status=online]", "En ligne", 10)
        .await;
    let tab = admin.find("#settings-tab").await;
    admin.click(&tab).await;
    admin
        .wait_for_text(None, "#settings-version", "version", 10)
        .await;
    admin
        .wait_for_text(None, "#settings h2", "Paramètres du compte", 10)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identify_right_after_open_waits_for_the_visitor_it_identifies() {
    let app = TestApp::start_in_memory().await;
    let visitor = Browser::start(1280, 800).await;
    visitor.goto(&shop(&app, "")).await;
    visitor.find_in(WIDGET, ".launcher").await;
    // The widget has loaded: the page's API is the real one, not the queue.
    visitor
        .wait_until(
            "return Boolean(window.RelayWidget && !window.RelayWidget.q);",
            10,
            "the widget never loaded",
        )
        .await;
    let token = crate::workspace::end_user_token(&app, "grace", json!({"name": "Grace"}));
    // Open starts signing the visitor in; identify, called at once, must wait for it.
    let identified = visitor
        .run(
            "RelayWidget.open(); \
             return RelayWidget.identify(arguments[0]).then(r => r.user_id, e => 'failed: ' + e.message);",
            vec![json!(token)],
        )
        .await;
    assert_eq!(identified, json!("grace"));
}
