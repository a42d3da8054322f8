//! The signing-keys API (#35, spec "Operate on AWS"), on the emulator: an admin creates a key
//! (its secret shown once), a token under it works, the list never shows a secret, a revoked
//! key's tokens are refused at once, an account holds at most 10 keys, and every change is in
//! the settings audit log. Nobody but an admin reaches these routes.

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};
use use_cases::auth::mint_token;

fn token_under(app: &TestApp, kid: &str, secret: &str, role: Role, sub: &str) -> String {
    let now = domain::now_ms() / 1000;
    mint_token(&app.account.id, kid, secret, sub, role, now, 600)
}

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_signing_keys() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let created = app.post("/v1/signing-keys", &admin, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let kid = created.body["kid"].as_str().expect("kid").to_string();
    let secret = created.body["secret"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 64, "{secret}");

    // A token under the new key works, for an admin and for an end user.
    let fresh_admin = token_under(&app, &kid, &secret, Role::Admin, "ops-1");
    assert_eq!(
        app.get("/v1/settings", &fresh_admin).await.status,
        StatusCode::OK
    );
    let fresh_user = token_under(&app, &kid, &secret, Role::EndUser, "zoe");
    assert_eq!(
        app.post("/v1/conversations", &fresh_user, json!({}))
            .await
            .status,
        StatusCode::CREATED
    );

    // Listed, never with a secret; the widget's visitor key is not the admin's to manage.
    let listed = app.get("/v1/signing-keys", &admin).await;
    assert_eq!(listed.status, StatusCode::OK);
    let text = listed.body.to_string();
    assert!(text.contains(&kid), "{text}");
    assert!(!text.contains(&secret), "a secret was listed");
    assert!(!text.contains(&app.account.secret), "a secret was listed");
    assert!(!text.contains("relay-widget-visitors"), "{text}");

    // Agents and end users get nowhere.
    for token in [
        app.token(Role::Agent, "ag-1"),
        app.token(Role::EndUser, "zoe"),
    ] {
        assert_eq!(
            app.get("/v1/signing-keys", &token).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.post("/v1/signing-keys", &token, json!({})).await.status,
            StatusCode::FORBIDDEN
        );
    }

    // Revoked: its tokens are refused at once, a second revoke is 404, and so is the visitor key.
    let delete = |path: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.send_raw(Method::DELETE, &path, Some(&admin), None)
                .await
        }
    };
    let revoked = delete(format!("/v1/signing-keys/{kid}")).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{:?}", revoked.body);
    assert_eq!(
        app.get("/v1/settings", &fresh_admin).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        delete(format!("/v1/signing-keys/{kid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete("/v1/signing-keys/relay-widget-visitors".into())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The other keys still work.
    assert_eq!(app.get("/v1/settings", &admin).await.status, StatusCode::OK);

    // Both changes are in the audit log, by whom.
    let audit = app.get("/v1/settings/audit", &admin).await.body.to_string();
    assert!(audit.contains("signing_keys.created"), "{audit}");
    assert!(audit.contains("signing_keys.revoked"), "{audit}");
    assert!(audit.contains(&kid), "{audit}");
}

#[tokio::test]
async fn an_account_holds_at_most_ten_signing_keys() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let count = || async {
        app.get("/v1/signing-keys", &admin).await.body["keys"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    let mut held = count().await;
    assert!(held >= 1, "the test account has its key");
    while held < 10 {
        let created = app.post("/v1/signing-keys", &admin, json!({})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        held += 1;
    }
    let refused = app.post("/v1/signing-keys", &admin, json!({})).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.error_code(), "too_many_keys");
    assert_eq!(count().await, 10, "nothing was stored for the refusal");
    let bad_body = app
        .post("/v1/signing-keys", &admin, json!({"kid": "mine"}))
        .await;
    assert_eq!(bad_body.status, StatusCode::BAD_REQUEST);
}

/// The signing-keys routes through the integrations function's Lambda entry, fed the event
/// JSON API Gateway sends: a key is created (201, its secret once), revoked (204), and a
/// token under it is refused by the very function that revoked it.
#[tokio::test]
async fn the_signing_keys_routes_answer_through_the_lambda_entry() {
    use super::deployed_path::{http_api_event, through_lambda};
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let created = through_lambda(
        &app.backend,
        http_api_event(
            "$default",
            "POST",
            "/v1/signing-keys",
            "",
            Some(&admin),
            Some("{}"),
            false,
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let kid = created.body["kid"].as_str().expect("kid").to_string();
    let secret = created.body["secret"].as_str().expect("secret").to_string();
    let theirs = token_under(&app, &kid, &secret, Role::Admin, "ops-2");
    let read = |token: String| {
        let backend = app.backend.clone();
        async move {
            through_lambda(
                &backend,
                http_api_event(
                    "$default",
                    "GET",
                    "/v1/signing-keys",
                    "",
                    Some(&token),
                    None,
                    false,
                ),
            )
            .await
        }
    };
    let listed = read(theirs.clone()).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(!listed.body.to_string().contains(&secret));
    let path = format!("/v1/signing-keys/{kid}");
    let revoked = through_lambda(
        &app.backend,
        http_api_event("$default", "DELETE", &path, "", Some(&admin), None, false),
    )
    .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        read(theirs).await.status,
        401,
        "refused at once where it was revoked"
    );
}
