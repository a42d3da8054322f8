//! The answer bot (#36) end to end on the emulator, driven by the change stream: the first
//! message of a session gets the published articles that match it, with "That answered it"
//! (the end user closes the ticket: a bot resolution in the report) and "Talk to a person";
//! with no match, the handoff offer at once; an end user never closes what agents hold.

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use super::knowledge::load_fixture;
use super::reports::report_when;

/// The built-in bot's answer in `cid`, as its end user reads it.
async fn bot_answer(app: &TestApp, cid: &str, token: &str) -> Value {
    let messages = app.messages_when(cid, token, 2).await;
    messages
        .into_iter()
        .find(|m| m["author"]["role"] == "bot")
        .unwrap_or_else(|| panic!("no answer from the bot in {cid}"))
}

fn payloads(buttons: &Value) -> Vec<&str> {
    buttons
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["payload"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_bot_offers_matching_articles_and_that_answered_it_is_a_bot_resolution() {
    let app = TestApp::start_live().await;
    load_fixture(&app).await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    let sent = app
        .send_text(&cid, &alice, "m1", "How do I get a refund for my order?")
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let answer = bot_answer(&app, &cid, &alice).await;
    let rich = &answer["rich"];
    assert_eq!(rich["text"], domain::locale::EN.articles_found, "{answer}");
    let cards = rich["items"].as_array().unwrap();
    assert!((1..=3).contains(&cards.len()), "{rich}");
    let titles: Vec<&str> = cards.iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"How refunds work"), "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains("draft")), "{titles:?}");
    assert_eq!(
        payloads(&rich["buttons"]),
        ["relay:resolved", "relay:handoff"]
    );
    // A card opens its article: the end user may read it.
    let open = cards[0]["buttons"][0]["payload"].as_str().unwrap();
    let article_id = open.strip_prefix("relay:article:").unwrap();
    let article = app.get(&format!("/v1/articles/{article_id}"), &alice).await;
    assert_eq!(article.status, StatusCode::OK, "{:?}", article.body);
    assert_eq!(article.body["title"], titles[0]);

    // "That answered it": the ticket is solved, the session ended, once.
    let closed = app
        .post(&format!("/v1/conversations/{cid}/close"), &alice, json!({}))
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(closed.body["changed"], true, "{:?}", closed.body);
    let conversation = app.get(&format!("/v1/conversations/{cid}"), &alice).await;
    assert_eq!(
        conversation.body["ticket_status"], "solved",
        "{:?}",
        conversation.body
    );
    assert_eq!(conversation.body["session"], "ended");
    let again = app
        .post(&format!("/v1/conversations/{cid}/close"), &alice, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["changed"], false);
    // Counted as the bot's resolution, not an agent's.
    let report = report_when(&app, "", |r| r["total"]["bot_resolutions"] == 1).await;
    assert_eq!(report["total"]["bot_resolutions"], 1, "{report}");
    assert_eq!(report["total"]["solved_by_agents"], 0, "{report}");
}

#[tokio::test]
async fn with_no_match_the_bot_offers_the_handoff_and_end_users_never_close_what_agents_hold() {
    let app = TestApp::start_live().await;
    load_fixture(&app).await;
    let bob = app.token(Role::EndUser, "bob");
    let cid = app.new_conversation("bob").await;
    app.send_text(&cid, &bob, "m1", "Hello, is anybody there?")
        .await;
    let answer = bot_answer(&app, &cid, &bob).await;
    let rich = &answer["rich"];
    assert_eq!(
        rich["text"],
        domain::locale::EN.no_article_found,
        "{answer}"
    );
    assert!(rich.get("items").is_none(), "{rich}");
    assert_eq!(payloads(&rich["buttons"]), ["relay:handoff"]);

    // Once agents hold it, the end user cannot solve it.
    let handed = app
        .post(&format!("/v1/conversations/{cid}/handoff"), &bob, json!({}))
        .await;
    assert_eq!(handed.body["control"], "agent", "{:?}", handed.body);
    let refused = app
        .post(&format!("/v1/conversations/{cid}/close"), &bob, json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["error"]["code"], "not_under_bot_control");
    let conversation = app.get(&format!("/v1/conversations/{cid}"), &bob).await;
    assert_eq!(
        conversation.body["ticket_status"], "new",
        "{:?}",
        conversation.body
    );
    // Another end user's conversation is not found.
    let other = app
        .post(
            &format!("/v1/conversations/{cid}/close"),
            &app.token(Role::EndUser, "mallory"),
            json!({}),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{:?}", other.body);

    // With a help centre, cards link into it.
    let admin = app.token(Role::Admin, "boss");
    let patched = app
        .patch_settings(
            &admin,
            json!({"help_center": {"base_url": "https://help.acme.test/articles"}}),
        )
        .await;
    assert!(patched.status.is_success(), "{:?}", patched.body);
    let carol = app.token(Role::EndUser, "carol");
    let cid = app.new_conversation("carol").await;
    app.send_text(&cid, &carol, "m1", "my item arrived damaged")
        .await;
    let answer = bot_answer(&app, &cid, &carol).await;
    let link = answer["rich"]["items"][0]["buttons"][0]["url"]
        .as_str()
        .unwrap_or_default();
    assert!(
        link.starts_with("https://help.acme.test/articles/art"),
        "{answer}"
    );
    // And a search gives each article's link there (the console inserts it).
    let found = app.get("/v1/articles/search?q=damaged", &carol).await;
    assert_eq!(found.body["articles"][0]["url"], link, "{:?}", found.body);
    // With articles off, the greeting answers.
    app.patch_settings(&admin, json!({"bot": {"answer_from_articles": false}}))
        .await;
    let dan = app.token(Role::EndUser, "dan");
    let cid = app.new_conversation("dan").await;
    app.send_text(&cid, &dan, "m1", "my item arrived damaged")
        .await;
    let answer = bot_answer(&app, &cid, &dan).await;
    assert_eq!(
        answer["rich"]["text"],
        domain::settings::DEFAULT_BOT_GREETING
    );
}

#[tokio::test]
async fn a_help_centre_of_one_article_still_answers() {
    let app = TestApp::start_in_memory().await;
    let created = app
        .post(
            "/v1/articles",
            &app.token(Role::Admin, "boss"),
            json!({"title": "Reset your password", "body": "Click Forgot password on the sign-in page.",
                   "locale": "en", "labels": [], "published": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let erin = app.token(Role::EndUser, "erin");
    let cid = app.new_conversation("erin").await;
    app.send_text(&cid, &erin, "m1", "I forgot my password")
        .await;
    let answer = bot_answer(&app, &cid, &erin).await;
    assert_eq!(
        answer["rich"]["items"][0]["title"], "Reset your password",
        "{answer}"
    );
}

#[tokio::test]
async fn an_end_users_repeated_close_asks_routing_for_nothing() {
    let app = TestApp::start_in_memory().await;
    let cid = app.new_conversation("fay").await;
    let recorder = std::sync::Arc::new(integration_tests::RecordingQueue::default());
    let mut backend = app.backend.clone();
    backend.routing_queue = recorder.clone();
    let fay = use_cases::auth::Principal {
        account_id: app.account.id.clone(),
        user_id: "fay".into(),
        role: Role::EndUser,
        profile_claims: Default::default(),
        scopes: Vec::new(),
    };
    let cid = domain::ids::ConversationId::parse(&cid).unwrap();
    for _ in 0..3 {
        use_cases::sessions::close(&backend, &fay, &cid)
            .await
            .unwrap();
    }
    // Closing what the bot holds frees no agent: no drain, however often it is pressed.
    assert!(recorder.sent.lock().unwrap().is_empty());
}
