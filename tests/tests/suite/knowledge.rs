//! The knowledge base (#36) over HTTP: admins write articles, staff list them, everyone in the
//! account searches them and end users only ever see published ones; refusals store nothing;
//! a change is found by the next search; R11's readiness counts the published articles.

use domain::model::Role;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The 32 articles of `tests/fixtures/articles.json` (16 a language, two unpublished).
fn fixture() -> Vec<Value> {
    serde_json::from_str(include_str!("../../fixtures/articles.json")).unwrap()
}

/// Writes every fixture article as an admin; answers (fixture id, stored id) pairs.
pub(super) async fn load_fixture(app: &TestApp) -> Vec<(String, String)> {
    let admin = app.token(Role::Admin, "boss");
    let mut ids = Vec::new();
    for mut article in fixture() {
        let fixture_id = article["id"].as_str().unwrap().to_string();
        article.as_object_mut().unwrap().remove("id");
        let created = app.post("/v1/articles", &admin, article).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        ids.push((fixture_id, created.body["id"].as_str().unwrap().to_string()));
    }
    ids
}

async fn search(app: &TestApp, token: &str, query: &str) -> Reply {
    app.get(&format!("/v1/articles/search?{query}"), token)
        .await
}

fn titles(reply: &Reply) -> Vec<String> {
    reply.body["articles"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", reply.body))
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn admins_write_staff_read_and_end_users_see_only_published_articles() {
    let app = TestApp::start().await;
    let (admin, agent, user) = (
        app.token(Role::Admin, "boss"),
        app.token(Role::Agent, "ana"),
        app.token(Role::EndUser, "eu-1"),
    );
    let draft = json!({"title": "Opening hours", "body": "We answer **9 to 5**.", "locale": "en", "labels": ["general"]});
    for (token, status) in [(&agent, 403), (&user, 403)] {
        let refused = app.post("/v1/articles", token, draft.clone()).await;
        assert_eq!(refused.status.as_u16(), status, "{:?}", refused.body);
    }
    for (body, status, code) in [
        (
            json!({"title": "x", "body": "", "locale": "en", "extra": 1}),
            400,
            "invalid_request",
        ),
        (
            json!({"title": "x", "body": "", "locale": "de"}),
            400,
            "invalid_request",
        ),
        (
            json!({"title": "   ", "body": "", "locale": "en"}),
            422,
            "invalid_article",
        ),
        (
            json!({"title": "x".repeat(201), "body": "", "locale": "en"}),
            422,
            "invalid_article",
        ),
        (
            json!({"title": "x", "body": "y".repeat(50_001), "locale": "en"}),
            422,
            "invalid_article",
        ),
        (
            json!({"title": "x", "body": "", "locale": "en", "labels": [""]}),
            422,
            "invalid_article",
        ),
    ] {
        let refused = app.post("/v1/articles", &admin, body).await;
        assert_eq!(refused.status.as_u16(), status, "{:?}", refused.body);
        assert_eq!(refused.error_code(), code);
    }
    let listed = app.get("/v1/articles", &agent).await;
    assert_eq!(
        listed.body["articles"],
        json!([]),
        "refusals stored nothing"
    );

    let created = app.post("/v1/articles", &admin, draft).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["published"], false);
    assert_eq!(created.body["revision"], 1);
    let path = format!("/v1/articles/{id}");
    assert_eq!(
        app.get(&path, &agent).await.body["body"],
        "We answer **9 to 5**."
    );
    // Unpublished: not there for an end user, nor in their search.
    assert_eq!(app.get(&path, &user).await.status, StatusCode::NOT_FOUND);
    assert!(titles(&search(&app, &user, "q=opening+hours").await).is_empty());
    assert_eq!(
        titles(&search(&app, &agent, "q=opening+hours").await),
        ["Opening hours"]
    );
    let listed = app.get("/v1/articles", &agent).await;
    assert_eq!(listed.body["articles"][0]["id"], id.as_str());
    assert!(listed.body["articles"][0].get("body").is_none());
    assert_eq!(
        app.get("/v1/articles", &user).await.status,
        StatusCode::FORBIDDEN
    );

    let published = json!({"title": "Opening hours", "body": "Weekdays, 9 to 5.", "locale": "en", "published": true});
    assert_eq!(
        app.put(&path, &agent, published.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let bad = app
        .put(
            &path,
            &admin,
            json!({"title": "", "body": "", "locale": "en"}),
        )
        .await;
    assert_eq!(bad.error_code(), "invalid_article");
    assert_eq!(
        app.get(&path, &agent).await.body["revision"],
        1,
        "nothing changed"
    );
    let changed = app.put(&path, &admin, published.clone()).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["revision"], 2);
    assert_eq!(changed.body["created_at"], created.body["created_at"]);
    assert_eq!(
        app.get(&path, &user).await.body["body"],
        "Weekdays, 9 to 5."
    );
    let found = search(&app, &user, "q=weekday&locale=en").await;
    assert_eq!(titles(&found), ["Opening hours"]);
    assert!(found.body["articles"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("Weekdays"));

    let missing = "/v1/articles/art_0123456789abcdef0123456789abcdef";
    assert_eq!(
        app.put(missing, &admin, published).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/v1/articles/nonsense", &agent).await.status,
        StatusCode::NOT_FOUND
    );
    let delete = |token: String| {
        let (app, path) = (&app, path.clone());
        async move {
            app.send_raw(Method::DELETE, &path, Some(&token), None)
                .await
        }
    };
    assert_eq!(delete(agent.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(delete(admin.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(delete(admin.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&path, &agent).await.status, StatusCode::NOT_FOUND);
    assert!(titles(&search(&app, &agent, "q=opening+hours").await).is_empty());
}

#[tokio::test]
async fn search_ranks_the_fixture_in_both_languages_and_follows_changes() {
    let app = TestApp::start().await;
    let ids = load_fixture(&app).await;
    let stored = |fixture_id: &str| {
        ids.iter()
            .find(|(f, _)| f == fixture_id)
            .map(|(_, s)| s.clone())
            .unwrap()
    };
    let (admin, agent, user) = (
        app.token(Role::Admin, "boss"),
        app.token(Role::Agent, "ana"),
        app.token(Role::EndUser, "eu-1"),
    );
    // "remboursement" finds the article about "remboursements" first.
    let fr = search(&app, &user, "q=remboursement&locale=fr").await;
    assert_eq!(fr.status, StatusCode::OK, "{:?}", fr.body);
    assert_eq!(
        fr.body["articles"][0]["id"],
        stored("fr-remboursements").as_str(),
        "{:?}",
        fr.body
    );
    assert!(fr.body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["locale"] == "fr"));
    let en = search(
        &app,
        &user,
        "q=how+do+I+get+my+money+back+refund&locale=en&limit=1",
    )
    .await;
    assert_eq!(titles(&en), ["How refunds work"]);
    let either = search(&app, &user, "q=mot+de+passe").await;
    assert_eq!(titles(&either)[0], "Réinitialiser votre mot de passe");
    // Drafts: staff only.
    let draft = stored("fr-remboursements-brouillon");
    let public = search(&app, &user, "q=cartes+cadeaux+brouillon&limit=20").await;
    assert!(!public.body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == draft.as_str()));
    let staff = search(&app, &agent, "q=cartes+cadeaux+brouillon").await;
    assert_eq!(staff.body["articles"][0]["id"], draft.as_str());
    assert_eq!(staff.body["articles"][0]["published"], false);
    // What staff would send a customer (the console's pane): published ones only.
    let sendable = search(&app, &agent, "q=cartes+cadeaux+brouillon&published=true").await;
    let sendable = sendable.body["articles"].as_array().unwrap().clone();
    assert!(
        !sendable.is_empty()
            && sendable
                .iter()
                .all(|a| a["published"] == true && a["id"] != draft.as_str()),
        "{sendable:?}"
    );
    // A change is found by the next search.
    let password = format!("/v1/articles/{}", stored("en-password"));
    let rewritten = json!({"title": "Locked out", "body": "Too many attempts lock the account for fifteen minutes.", "locale": "en", "published": true});
    assert_eq!(
        app.put(&password, &admin, rewritten).await.status,
        StatusCode::OK
    );
    assert_eq!(
        titles(&search(&app, &user, "q=fifteen+minutes").await),
        ["Locked out"]
    );
    // Bad searches.
    for (query, status) in [
        ("q=", 400),
        ("", 400),
        ("q=refund&locale=de", 400),
        ("q=refund&limit=-1", 400),
    ] {
        let refused = search(&app, &user, query).await;
        assert_eq!(
            refused.status.as_u16(),
            status,
            "{query}: {:?}",
            refused.body
        );
    }
    let long = format!("q={}", "a".repeat(501));
    assert_eq!(
        search(&app, &user, &long).await.error_code(),
        "invalid_request"
    );
    assert!(titles(&search(&app, &user, "q=zebra").await).is_empty());
    assert!(titles(&search(&app, &user, "q=+%C2%85+%3F").await).is_empty());
}

#[tokio::test]
async fn readiness_counts_the_published_articles() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "boss");
    let help_center = |reply: Reply| {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "help_center")
            .cloned()
            .unwrap()
    };
    let before = help_center(app.get("/v1/settings/messaging-readiness", &admin).await);
    assert_eq!(before["ok"], false);
    load_fixture(&app).await;
    let after = help_center(app.get("/v1/settings/messaging-readiness", &admin).await);
    assert_eq!(after["ok"], true, "{after}");
    assert!(
        after["explanation"]
            .as_str()
            .unwrap()
            .starts_with("30 published"),
        "{after}"
    );
}
