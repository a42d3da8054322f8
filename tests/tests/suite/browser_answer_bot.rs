//! The answer bot (#36) in the widget, in a real browser under the strict policy: a visitor's
//! first question gets article cards; "Read the article" shows the article in the card;
//! "That answered it" solves the ticket and the widget says so; axe-core finds nothing.

use domain::model::Role;
use integration_tests::browser::Browser;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use super::browser_access::assert_no_axe_violations;

const WIDGET: Option<&str> = Some("#relay-widget");

async fn publish(app: &TestApp, title: &str, body: &str) {
    let created = app
        .post(
            "/v1/articles",
            &app.token(Role::Admin, "boss"),
            json!({"title": title, "body": body, "locale": "en", "labels": [], "published": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visitor_reads_the_bots_article_and_says_it_answered_their_question() {
    let app = TestApp::start_in_memory().await;
    publish(
        &app,
        "How refunds work",
        "# Refunds\n\nAsk for a refund within **30 days**: open *Orders* and choose \
         [Request a refund](https://shop.example/refund).",
    )
    .await;
    publish(
        &app,
        "Shipping times",
        "Standard shipping takes 3 to 5 days.",
    )
    .await;
    let visitor = Browser::start(1280, 900).await;
    visitor
        .goto(&format!(
            "{}/demo/?account={}",
            app.base_url, app.account.id
        ))
        .await;
    crate::browser::open_and_start(&visitor, "How do I get a refund?").await;
    visitor
        .wait_for_text(WIDGET, ".msg.theirs .card h3", "How refunds work", 10)
        .await;
    let cards = visitor.texts(WIDGET, ".msg.theirs .card h3").await;
    assert_eq!(
        cards,
        vec!["How refunds work".to_string()],
        "only the match"
    );
    let chips = visitor.texts(WIDGET, ".msg.theirs > .chip").await;
    assert_eq!(
        chips,
        vec![
            domain::locale::EN.resolved_label.to_string(),
            domain::locale::EN.handoff_label.to_string()
        ]
    );
    // The card opens its article in place, without markdown's marks or link targets.
    let read = visitor.find_in(WIDGET, ".card .chip").await;
    visitor.click(&read).await;
    visitor
        .wait_for_text(WIDGET, ".card p[tabindex]", "choose Request a refund.", 10)
        .await;
    let shown = visitor.texts(WIDGET, ".card p[tabindex]").await;
    assert!(
        !shown[0].contains("**") && !shown[0].contains("https://"),
        "{shown:?}"
    );
    assert_no_axe_violations(&visitor, "the widget with the bot's article open").await;
    visitor.screenshot("answer-bot-1-article").await;

    // "That answered it": the ticket is solved and the widget shows the notice.
    let resolved = visitor.find_in(WIDGET, ".msg.theirs > .chip").await;
    visitor.click(&resolved).await;
    visitor
        .wait_for_text(WIDGET, ".msg.system", "marked as solved", 10)
        .await;
    visitor.screenshot("answer-bot-2-resolved").await;
    let admin = app.token(Role::Admin, "boss");
    let listed = app.get("/v1/inbox?view=all", &admin).await;
    let solved: Vec<&Value> = listed.body["conversations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["ticket_status"] == "solved")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(solved.len(), 1, "{:?}", listed.body);
    assert_eq!(
        crate::browser::csp_violations(&app).await,
        Vec::<Value>::new()
    );
}
