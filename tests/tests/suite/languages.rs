//! The server's own texts in the end user's language (#39 item 2, spec "The browser: widget
//! and console"): the account's `locale` setting, or the end user's token claim `locale`,
//! decides the language of the bot's greeting and button, the session-ended and solved
//! notices; the default greetings follow the account's language until an admin sets their
//! own. On the emulator, with the change stream's reactions running.

use domain::locale::{EN, FR};
use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use crate::workspace::end_user_token;

/// What the end user with `token` reads from the bot and the system in a new conversation:
/// the bot's greeting and button after a first message, then the notice of an agent's end.
async fn texts_heard(app: &TestApp, token: &str) -> (String, Value, String, String) {
    let reply = app.post("/v1/conversations", token, json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let cid = reply.body["id"].as_str().expect("an id").to_string();
    let sent = app.send_text(&cid, token, "m-1", "bonjour / hello").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let heard = app.messages_when(&cid, token, 2).await;
    let bot = heard
        .iter()
        .find(|m| m["author"]["role"] == "bot")
        .unwrap_or_else(|| panic!("no greeting: {heard:?}"))
        .clone();
    let agent = app.token(Role::Agent, "agent-1");
    let ended = app
        .post(&format!("/v1/conversations/{cid}/end"), &agent, json!({}))
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    let heard = app.messages_when(&cid, token, 3).await;
    let notice = heard
        .iter()
        .rev()
        .find(|m| m["type"] == "system")
        .unwrap_or_else(|| panic!("no notice: {heard:?}"));
    (
        bot["rich"]["text"].as_str().unwrap_or_default().to_string(),
        bot["rich"]["buttons"][0]["label"].clone(),
        notice["text"].as_str().unwrap_or_default().to_string(),
        cid,
    )
}

#[tokio::test]
async fn an_account_in_french_speaks_french_until_an_admin_writes_their_own_greeting() {
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "admin-1");
    // Control: an English account (the default) speaks English.
    let (greeting, button, notice, _) =
        texts_heard(&app, &app.token(Role::EndUser, "before")).await;
    assert_eq!(
        (greeting.as_str(), &button, notice.as_str()),
        (EN.bot_greeting, &json!(EN.handoff_label), EN.session_ended)
    );

    let changed = app.patch_settings(&admin, json!({"locale": "fr"})).await;
    assert_eq!(changed.body["settings"]["locale"], "fr");
    let settings = app.get("/v1/settings", &admin).await.body["settings"].clone();
    assert_eq!(settings["widget"]["greeting"], FR.widget_greeting);
    assert_eq!(settings["bot"]["greeting"], FR.bot_greeting);
    let (greeting, button, notice, _) = texts_heard(&app, &app.token(Role::EndUser, "after")).await;
    assert_eq!(
        (greeting.as_str(), &button, notice.as_str()),
        (FR.bot_greeting, &json!(FR.handoff_label), FR.session_ended)
    );

    // An admin's own greeting is theirs, in whatever language they wrote it.
    app.patch_settings(
        &admin,
        json!({"widget": {"greeting": "Hej! Vad kan vi hjälpa dig med?"}, "bot": {"greeting": "Hej!"}}),
    )
    .await;
    let settings = app.get("/v1/settings", &admin).await.body["settings"].clone();
    assert_eq!(
        settings["widget"]["greeting"],
        "Hej! Vad kan vi hjälpa dig med?"
    );
    let (greeting, button, _, _) = texts_heard(&app, &app.token(Role::EndUser, "later")).await;
    assert_eq!(
        (greeting.as_str(), button),
        ("Hej!", json!(FR.handoff_label))
    );
}

#[tokio::test]
async fn the_end_users_locale_claim_wins_and_a_language_we_do_not_speak_falls_back() {
    let app = TestApp::start_live().await;
    let french = end_user_token(&app, "camille", json!({"locale": "fr-CA"}));
    let (greeting, button, notice, cid) = texts_heard(&app, &french).await;
    assert_eq!(
        (greeting.as_str(), &button, notice.as_str()),
        (FR.bot_greeting, &json!(FR.handoff_label), FR.session_ended)
    );
    // Agents see the customer's language; they read the bot's turn as text (R15).
    let staff = app
        .get(
            &format!("/v1/conversations/{cid}"),
            &app.token(Role::Agent, "agent-1"),
        )
        .await;
    assert_eq!(staff.body["end_user"]["locale"], "fr");

    // German is not a language the server speaks: the account's English.
    let german = end_user_token(&app, "hans", json!({"locale": "de-AT"}));
    let (greeting, _, notice, cid) = texts_heard(&app, &german).await;
    assert_eq!(
        (greeting.as_str(), notice.as_str()),
        (EN.bot_greeting, EN.session_ended)
    );
    let staff = app
        .get(
            &format!("/v1/conversations/{cid}"),
            &app.token(Role::Agent, "agent-1"),
        )
        .await;
    assert!(
        staff.body["end_user"].get("locale").is_none(),
        "{:?}",
        staff.body
    );

    // A claim that is not a tag is refused like a bad name, and nothing is started.
    let broken = end_user_token(&app, "zoe", json!({"locale": 42}));
    let reply = app.post("/v1/conversations", &broken, json!({})).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    assert_eq!(reply.error_code(), "invalid_profile");
    let mine = app
        .get("/v1/conversations", &app.token(Role::EndUser, "zoe"))
        .await;
    assert_eq!(mine.body["conversations"], json!([]));
}

#[tokio::test]
async fn a_solved_ticket_is_announced_in_the_end_users_language() {
    let app = TestApp::start().await;
    let french = end_user_token(&app, "lea", json!({"locale": "fr"}));
    let reply = app.post("/v1/conversations", &french, json!({})).await;
    let cid = reply.body["id"].as_str().expect("an id").to_string();
    app.send_text(&cid, &french, "m-1", "allô ?").await;
    let closed = app
        .post(
            &format!("/v1/conversations/{cid}/close"),
            &app.token(Role::Agent, "agent-1"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let heard = app.messages_when(&cid, &french, 2).await;
    let notice = heard.iter().rev().find(|m| m["type"] == "system");
    assert_eq!(
        notice.map(|m| m["text"].clone()),
        Some(json!(FR.ticket_solved)),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_visitor_admitted_in_french_is_answered_in_french() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let key = app.get("/v1/settings", &admin).await.body["settings"]["widget"]["key"]
        .as_str()
        .expect("a widget key")
        .to_string();
    let admit = |body: Value| {
        app.send_raw(
            reqwest::Method::POST,
            "/v1/widget/visitors",
            None,
            Some(body.to_string().into_bytes()),
        )
    };
    let too_long = admit(json!({"widget_key": key, "locale": "x".repeat(36)})).await;
    assert_eq!(
        too_long.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        too_long.body
    );
    for (tag, expected) in [
        ("fr-FR", json!("fr")),
        ("de", Value::Null),
        ("", Value::Null),
    ] {
        let visitor = admit(json!({"widget_key": key, "locale": tag})).await;
        assert_eq!(visitor.status, StatusCode::CREATED, "{:?}", visitor.body);
        let token = visitor.body["token"].as_str().expect("a token").to_string();
        let created = app.post("/v1/conversations", &token, json!({})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let locale = created.body["end_user"].get("locale").cloned();
        assert_eq!(locale.unwrap_or(Value::Null), expected, "{tag}");
    }
}
