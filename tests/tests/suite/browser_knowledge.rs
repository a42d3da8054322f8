//! The console's knowledge pane and `/` macros (#36) in a real browser under the strict policy:
//! an agent sees articles suggested for the customer's last message, searches, inserts a link
//! and a quote into the reply, then types `/`, picks a macro with the keyboard, reads it filled
//! in for this customer and sends it; axe-core finds nothing with the pane, the picker or the
//! preview open.

use domain::model::Role;
use integration_tests::agents::{accept, agent};
use integration_tests::browser::{keys, Browser};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use super::browser_access::{assert_no_axe_violations, sign_in};

/// WebDriver's codes for the keys the picker listens to.
const ARROW_DOWN: &str = "\u{E015}";
const BACKSPACE: &str = "\u{E003}";

/// The reply box's value, the focused element's test id and what the picker shows.
const COMPOSER: &str = "const reply = document.querySelector('[data-testid=reply]'); \
    const active = reply.getAttribute('aria-activedescendant'); \
    const picker = document.querySelector('[data-testid=macro-picker]'); \
    return { value: reply.value, \
      focus: document.activeElement && document.activeElement.dataset.testid || null, \
      open: Boolean(picker && !picker.hidden), \
      options: [...document.querySelectorAll('#macro-listbox [role=option] .macro-title')].map(o => o.textContent), \
      active: active && document.getElementById(active) ? \
        [document.getElementById(active).querySelector('.macro-title').textContent, \
         document.getElementById(active).getAttribute('aria-selected')] : null, \
      controls: reply.getAttribute('aria-controls'), \
      heard: document.getElementById('macro-status').textContent };";

async fn composer(browser: &Browser) -> Value {
    browser.run(COMPOSER, vec![]).await
}

async fn focus_reply(browser: &Browser) {
    browser
        .run(
            "document.querySelector('[data-testid=reply]').focus(); return null;",
            vec![],
        )
        .await;
}

/// Types `text` key by key into whatever has the focus.
async fn type_keys(browser: &Browser, text: &str) {
    let keys: Vec<String> = text.chars().map(String::from).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    browser.press(&refs).await;
}

/// Three published articles, as an admin; answers the password article's id.
async fn write_articles(app: &TestApp) -> String {
    let admin = app.token(Role::Admin, "boss");
    let mut password = String::new();
    for (title, body) in [
        (
            "Returns policy",
            "# Returns\n\nItems can be returned within **30 days** in their original packaging. \
             Print the return label from *Orders* and drop the parcel at a post office.\n\n\
             Opened software cannot be returned.",
        ),
        (
            "Reset your password",
            "Click **Forgot password** on the sign-in page and enter your email address.\n\
             We send a link that works for one hour.\n\n\
             If the email does not arrive, check your spam folder.",
        ),
        (
            "Shipping times and costs",
            "Standard shipping takes 3 to 5 business days and is free above 50 euros.",
        ),
    ] {
        let created = app
            .post(
                "/v1/articles",
                &admin,
                json!({"title": title, "body": body, "locale": "en", "labels": ["help"], "published": true}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        if title == "Reset your password" {
            password = created.body["id"].as_str().unwrap().to_string();
        }
    }
    password
}

/// Alice (her token names her) asks about a return and for a person; Ana accepts.
async fn alice_reaches_ana(app: &TestApp) -> String {
    agent(app, "ana", 2, &[], "online").await;
    let alice = super::workspace::end_user_token(app, "alice", json!({"name": "Alice"}));
    let created = app.post("/v1/conversations", &alice, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let cid = created.body["id"].as_str().unwrap().to_string();
    let sent = app
        .send_text(
            &cid,
            &alice,
            "a-1",
            "Hello! Can I still return the mug I bought?",
        )
        .await;
    assert!(sent.status.is_success(), "{:?}", sent.body);
    let handed = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(handed.status, StatusCode::ACCEPTED, "{:?}", handed.body);
    app.run_router().await;
    assert_eq!(accept(app, "ana", &cid).await.status, StatusCode::OK);
    cid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_inserts_articles_and_sends_a_macro_from_the_console() {
    let app = TestApp::start_in_memory().await;
    let password = write_articles(&app).await;
    let admin = app.token(Role::Admin, "boss");
    for (title, text) in [
        ("Refund done", "Your refund is on its way."),
        (
            "Return label",
            "Hi {{end_user.name}}, here is your return label: print it and drop the parcel at a post office.",
        ),
        ("Password help", "Use the Forgot password link on the sign-in page."),
    ] {
        let made = app
            .post("/v1/macros", &admin, json!({"title": title, "text": text}))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    }
    let cid = alice_reaches_ana(&app).await;

    let browser = Browser::start(1280, 900).await;
    sign_in(&browser, &app, Role::Agent, "ana").await;
    let item = browser
        .find(&format!("#inbox li[data-conversation='{cid}']"))
        .await;
    browser.click(&item).await;
    browser
        .wait_for_text(None, ".messages .msg", "return the mug", 10)
        .await;

    // The pane suggests the article that answers the customer's last message, first.
    browser
        .wait_for_text(None, "#knowledge-results h3", "Returns policy", 10)
        .await;
    let suggested = browser.texts(None, "#knowledge-results h3").await;
    assert_eq!(suggested[0], "Returns policy", "{suggested:?}");
    let status = browser.texts(None, "#knowledge-status").await.join("");
    assert!(
        status.starts_with("Suggested for the customer's last message"),
        "{status}"
    );
    assert_no_axe_violations(&browser, "the console with the knowledge pane").await;
    browser.screenshot("knowledge-1-suggestions").await;

    // A search of its own replaces the suggestions.
    let search = browser.find("#knowledge-q").await;
    browser
        .type_into(&search, &format!("password{}", keys::ENTER))
        .await;
    browser
        .wait_for_text(None, "#knowledge-status", "Results for “password” (1)", 10)
        .await;
    assert_eq!(
        browser.texts(None, "#knowledge-results h3").await,
        vec!["Reset your password".to_string()]
    );

    // A link, then the first paragraph quoted (plain text, line by line), at the caret.
    let result = format!("#knowledge-results li[data-article='{password}']");
    let link = browser
        .find(&format!("{result} [data-testid=insert-link]"))
        .await;
    browser.click(&link).await;
    let quote = browser
        .find(&format!("{result} [data-testid=insert-quote]"))
        .await;
    browser.click(&quote).await;
    let expected = format!(
        "Reset your password (article {password})\n\
         > Click Forgot password on the sign-in page and enter your email address.\n\
         > We send a link that works for one hour.\n"
    );
    browser
        .wait_until(
            &format!(
                "return document.querySelector('[data-testid=reply]').value === {};",
                json!(expected)
            ),
            10,
            "the link and the quote in the reply",
        )
        .await;
    assert_eq!(composer(&browser).await["focus"], "reply");
    assert_no_axe_violations(&browser, "the console with a search and an insert").await;
    browser.screenshot("knowledge-2-link-and-quote").await;
    browser
        .run(
            "document.querySelector('[data-testid=send-reply]').click(); return null;",
            vec![],
        )
        .await;
    browser
        .wait_for_text(None, ".messages .msg.agent", "> We send a link", 10)
        .await;

    // `/` lists every macro; Escape closes the list and keeps the text. (Keys go to whatever
    // has the focus: the console draws the composer anew on every change, and carries the
    // focus over, so no element reference is held across one.)
    focus_reply(&browser).await;
    type_keys(&browser, "/").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#macro-listbox [role=option]').length === 3;",
            10,
            "the three macros listed",
        )
        .await;
    let state = composer(&browser).await;
    assert_eq!(state["controls"], "macro-listbox", "{state}");
    assert!(
        state["heard"].as_str().unwrap().starts_with("Macros: 3."),
        "{state}"
    );
    browser.press(&[keys::ESCAPE]).await;
    let state = composer(&browser).await;
    assert_eq!(
        (&state["open"], &state["value"], &state["controls"]),
        (&json!(false), &json!("/"), &Value::Null),
        "{state}"
    );

    // A new `/` and part of a title: only the titles holding it.
    browser.press(&[BACKSPACE]).await;
    type_keys(&browser, "/re").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#macro-listbox [role=option]').length === 2;",
            10,
            "two macros hold \"re\"",
        )
        .await;
    let mut options: Vec<String> =
        serde_json::from_value(composer(&browser).await["options"].clone()).unwrap();
    options.sort();
    assert_eq!(options, ["Refund done", "Return label"]);
    assert_no_axe_violations(&browser, "the console with the macro picker").await;
    browser.screenshot("knowledge-3-macro-picker").await;

    // Down (round to the top again if need be) to "Return label", and Enter.
    for _ in 0..2 {
        browser.press(&[ARROW_DOWN]).await;
        if composer(&browser).await["active"][0] == "Return label" {
            break;
        }
    }
    let state = composer(&browser).await;
    assert_eq!(state["active"], json!(["Return label", "true"]), "{state}");
    assert_eq!(state["focus"], "reply", "the focus stays in the reply");
    browser.press(&[keys::ENTER]).await;

    // The preview: filled in for Alice, nothing posted yet, the focus on its Send.
    browser
        .wait_for_text(
            None,
            "[data-testid=macro-preview-text]",
            "Hi Alice, here is your return label: print it",
            10,
        )
        .await;
    let state = composer(&browser).await;
    assert_eq!(
        (&state["focus"], &state["open"], &state["value"]),
        (&json!("macro-send"), &json!(false), &json!("/re")),
        "{state}"
    );
    let texts = |messages: &Value| -> Vec<String> {
        messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str().map(String::from))
            .collect()
    };
    let path = format!("/v1/conversations/{cid}/messages");
    let before = app.get(&path, &admin).await;
    assert!(
        !texts(&before.body)
            .iter()
            .any(|t| t.starts_with("Hi Alice")),
        "a preview posts nothing: {:?}",
        before.body
    );
    assert_no_axe_violations(&browser, "the console with a macro's preview").await;
    browser.screenshot("knowledge-4-macro-preview").await;

    // Send (Enter on the focused button): the message shows, the reply box is empty again.
    browser.press(&[keys::ENTER]).await;
    let sent =
        "Hi Alice, here is your return label: print it and drop the parcel at a post office.";
    browser
        .wait_for_text(None, ".messages .msg.agent", sent, 10)
        .await;
    browser
        .wait_until(
            "return document.querySelector('[data-testid=macro-preview]').hidden;",
            10,
            "the preview closed",
        )
        .await;
    let state = composer(&browser).await;
    assert_eq!(
        (&state["value"], &state["focus"]),
        (&json!(""), &json!("reply")),
        "{state}"
    );
    browser.screenshot("knowledge-5-macro-sent").await;

    // Escape in a preview cancels it: the focus back in the reply, nothing posted.
    type_keys(&browser, "/refund").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#macro-listbox [role=option]').length === 1;",
            10,
            "one macro holds \"refund\"",
        )
        .await;
    browser.press(&[keys::ENTER]).await;
    browser
        .wait_for_text(
            None,
            "[data-testid=macro-preview-text]",
            "Your refund is on its way.",
            10,
        )
        .await;
    browser.press(&[keys::ESCAPE]).await;
    browser
        .wait_until(
            "return document.querySelector('[data-testid=macro-preview]').hidden;",
            10,
            "the preview cancelled",
        )
        .await;
    let state = composer(&browser).await;
    assert_eq!(
        (&state["value"], &state["focus"]),
        (&json!("/refund"), &json!("reply")),
        "{state}"
    );

    // Posted once, as Ana's message to Alice; the cancelled one never.
    let after = app.get(&path, &admin).await;
    let posted: Vec<&Value> = after.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == sent)
        .collect();
    assert_eq!(posted.len(), 1, "{:?}", after.body);
    assert!(
        !texts(&after.body)
            .iter()
            .any(|t| t == "Your refund is on its way."),
        "{:?}",
        after.body
    );
    assert_eq!(
        (
            &posted[0]["type"],
            &posted[0]["author"]["role"],
            &posted[0]["author"]["id"]
        ),
        (&json!("text"), &json!("agent"), &json!("ana")),
        "{:?}",
        posted[0]
    );
    assert_eq!(
        super::browser::csp_violations(&app).await,
        Vec::<Value>::new()
    );
}
