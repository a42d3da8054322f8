//! The admin settings API through HTTP on the emulator (R1–R11).

use domain::model::{Account, Role};
use domain::settings::{AuditEntry, AGENTS_CAN_END_SESSIONS_LAUNCH_MS};
use futures::future::join_all;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

impl Admin<'_> {
    pub(super) async fn get(&self) -> Reply {
        self.app.get("/v1/settings", &self.token).await
    }

    pub(super) async fn patch(&self, version: Option<u64>, patch: Value) -> Reply {
        self.patch_raw(
            version.map(|v| v.to_string()),
            patch.to_string().into_bytes(),
        )
        .await
    }

    pub(super) async fn patch_raw(&self, if_match: Option<String>, body: Vec<u8>) -> Reply {
        let mut request = reqwest::Client::new()
            .patch(format!("{}/v1/settings", self.app.base_url))
            .bearer_auth(&self.token)
            .header("content-type", "application/merge-patch+json")
            .body(body);
        if let Some(version) = if_match {
            request = request.header("if-match", version);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap();
        Reply::new(status, &headers, body)
    }

    pub(super) async fn version(&self) -> u64 {
        self.get().await.body["version"].as_u64().unwrap()
    }

    /// Patches at the current version and expects success.
    pub(super) async fn set(&self, patch: Value) -> Reply {
        let version = self.version().await;
        let reply = self.patch(Some(version), patch).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply
    }

    pub(super) async fn audit(&self) -> Vec<AuditEntry> {
        let mut entries = Vec::new();
        let mut cursor = String::from("0");
        loop {
            let page = self
                .app
                .get(
                    &format!("/v1/settings/audit?cursor={cursor}&limit=2"),
                    &self.token,
                )
                .await;
            assert_eq!(page.status, StatusCode::OK);
            for e in page.body["entries"].as_array().unwrap() {
                entries.push(AuditEntry {
                    account_id: self.app.account.id.clone(),
                    version: e["version"].as_u64().unwrap(),
                    actor: e["actor"].as_str().unwrap().into(),
                    at: e["at"].as_i64().unwrap(),
                    changes: serde_json::from_value(e["changes"].clone()).unwrap(),
                    prev_hash: e["prev_hash"].as_str().unwrap().into(),
                    hash: e["hash"].as_str().unwrap().into(),
                });
            }
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => return entries,
            }
        }
    }
}

pub(super) struct Admin<'a> {
    app: &'a TestApp,
    pub(super) token: String,
}

pub(super) fn admin(app: &TestApp) -> Admin<'_> {
    Admin {
        app,
        token: app.token(Role::Admin, "admin-1"),
    }
}

#[tokio::test]
async fn new_account_has_the_spec_defaults_at_version_zero() {
    let app = TestApp::start().await;
    let reply = admin(&app).get().await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["version"], 0);
    let s = &reply.body["settings"];
    assert_eq!(s["agent_workspace"]["enabled"], true);
    assert_eq!(s["support_chat_app"]["enabled"], false);
    assert_eq!(s["messaging"]["enabled"], true);
    assert_eq!(s["messaging"]["agents_can_end_sessions"], true);
    assert_eq!(s["messaging"]["ended_session_routing"], "messaging");
    assert_eq!(s["messaging"]["csat_on_session_end"], false);
    assert_eq!(s["attachments"]["enabled"], true);
    assert_eq!(s["bot"]["enabled"], true);
    assert_eq!(s["routing"]["method"], "highest_spare_capacity");
}

#[tokio::test]
async fn legacy_messaging_accounts_default_to_agents_not_ending_sessions() {
    let app = TestApp::start().await;
    app.backend
        .store
        .put_account(&Account {
            id: app.account.id.clone(),
            name: "legacy".into(),
            capabilities: vec![],
            created_at: 0,
            messaging_enabled_at: Some(AGENTS_CAN_END_SESSIONS_LAUNCH_MS - 1),
            widget_key: None,
        })
        .await
        .unwrap();
    let reply = admin(&app).get().await;
    assert_eq!(
        reply.body["settings"]["messaging"]["agents_can_end_sessions"],
        false
    );
    // An explicit choice still wins.
    let reply = admin(&app)
        .set(json!({"messaging": {"agents_can_end_sessions": true}}))
        .await;
    assert_eq!(
        reply.body["settings"]["messaging"]["agents_can_end_sessions"],
        true
    );
}

#[tokio::test]
async fn patch_merges_bumps_the_version_and_null_restores_the_default() {
    let app = TestApp::start().await;
    let a = admin(&app);
    let reply = a
        .patch(
            Some(0),
            json!({"bot": {"enabled": false}, "routing": {"method": "round_robin"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["version"], 1);
    assert_eq!(reply.body["settings"]["bot"]["enabled"], false);
    assert_eq!(reply.body["settings"]["routing"]["method"], "round_robin");
    assert_eq!(reply.body["settings"]["attachments"]["enabled"], true);
    let reply = a.patch(Some(1), json!({"bot": null})).await;
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.body["settings"]["bot"]["enabled"], true);
    assert_eq!(reply.body["settings"]["routing"]["method"], "round_robin");
    // Other functions read the same settings: with the bot off, conversations skip it.
    a.set(json!({"bot": {"enabled": false}})).await;
    let cid = app.new_conversation("alice").await;
    assert_eq!(
        app.stored_conversation(&cid).await.control,
        domain::model::Control::Agent
    );
}

#[tokio::test]
async fn missing_and_stale_if_match_are_refused_without_changes() {
    let app = TestApp::start().await;
    let a = admin(&app);
    let missing = a.patch(None, json!({"bot": {"enabled": false}})).await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(missing.error_code(), "precondition_required");
    a.set(json!({"attachments": {"enabled": false}})).await;
    let stale = a.patch(Some(0), json!({"bot": {"enabled": false}})).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.error_code(), "version_conflict");
    let garbage = a
        .patch_raw(
            Some("latest".into()),
            br#"{"bot": {"enabled": false}}"#.to_vec(),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let now = a.get().await;
    assert_eq!(now.body["version"], 1);
    assert_eq!(now.body["settings"]["bot"]["enabled"], true);
    // A quoted ETag works as If-Match too.
    let quoted = a
        .patch_raw(
            Some("\"1\"".into()),
            br#"{"bot": {"enabled": false}}"#.to_vec(),
        )
        .await;
    assert_eq!(quoted.status, StatusCode::OK);
}

#[tokio::test]
async fn of_twenty_concurrent_patches_on_one_version_exactly_one_wins() {
    let app = TestApp::start().await;
    let a = admin(&app);
    let patches = (0..20).map(|i| {
        let method = if i % 2 == 0 {
            "round_robin"
        } else {
            "highest_spare_capacity"
        };
        a.patch(
            Some(0),
            json!({"routing": {"method": method}, "bot": {"enabled": i % 3 == 0}}),
        )
    });
    let replies = join_all(patches).await;
    let winners = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| {
            r.status == StatusCode::PRECONDITION_FAILED && r.error_code() == "version_conflict"
        })
        .count();
    assert_eq!(winners, 1, "{replies:?}");
    assert_eq!(conflicts, 19);
    assert_eq!(a.version().await, 1);
    assert_eq!(a.audit().await.len(), 1);
}

#[tokio::test]
async fn unknown_settings_wrong_types_and_bad_bodies_change_nothing() {
    let app = TestApp::start().await;
    let a = admin(&app);
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"bot": {"enabeld": false}}),
            StatusCode::BAD_REQUEST,
            "unknown_setting",
        ),
        (
            json!({"colour": "red"}),
            StatusCode::BAD_REQUEST,
            "unknown_setting",
        ),
        (
            json!({"bot": {"enabled": "yes"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
        ),
        (
            json!({"routing": {"method": "random"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
        ),
        (
            json!({"messaging": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
        ),
        (
            json!({"locale": "de"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
        ),
        (
            json!({"locale": 7}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_setting",
        ),
        (json!([1, 2]), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (patch, status, code) in cases {
        let reply = a.patch(Some(0), patch.clone()).await;
        assert_eq!(reply.status, status, "{patch}: {:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{patch}");
    }
    let malformed = a.patch_raw(Some("0".into()), b"{\"bot\":".to_vec()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let huge = format!(
        "{{\"bot\": {{\"enabled\": false}}, \"x\": \"{}\"}}",
        "a".repeat(300_000)
    );
    let oversize = a.patch_raw(Some("0".into()), huge.into_bytes()).await;
    assert_eq!(oversize.status, StatusCode::PAYLOAD_TOO_LARGE);
    let now = a.get().await;
    assert_eq!(now.body["version"], 0);
    assert!(a.audit().await.is_empty());
}

#[tokio::test]
async fn cross_setting_rules_are_enforced_and_named() {
    let app = TestApp::start().await;
    let a = admin(&app);
    // R2: the workspace cannot go off while messaging is on.
    let reply = a
        .patch(Some(0), json!({"agent_workspace": {"enabled": false}}))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("R2"));
    // Both off together is fine; then messaging alone cannot come back (R2).
    a.set(json!({"agent_workspace": {"enabled": false}, "messaging": {"enabled": false}}))
        .await;
    let v = a.version().await;
    let reply = a
        .patch(Some(v), json!({"messaging": {"enabled": true}}))
        .await;
    assert_eq!(reply.error_code(), "invalid_setting");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("R2"));
    // R1: the Support chat app may run while the workspace is off...
    a.set(json!({"support_chat_app": {"enabled": true}})).await;
    // ...the workspace cannot be enabled while a chat department is unconverted...
    let facts = app
        .send_raw(
            Method::PUT,
            "/v1/settings/workspace",
            Some(&a.token),
            Some(
                json!({"groups": ["support"], "unconverted_chat_departments": 2})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(facts.status, StatusCode::OK);
    let v = a.version().await;
    let reply = a
        .patch(Some(v), json!({"agent_workspace": {"enabled": true}}))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("R1"));
    // ...and once they are converted, enabling it turns the Support chat app off.
    app.send_raw(
        Method::PUT,
        "/v1/settings/workspace",
        Some(&a.token),
        Some(
            json!({"groups": ["support"], "unconverted_chat_departments": 0})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    let reply = a.set(json!({"agent_workspace": {"enabled": true}})).await;
    assert_eq!(reply.body["settings"]["support_chat_app"]["enabled"], false);
    let v = a.version().await;
    let reply = a
        .patch(Some(v), json!({"support_chat_app": {"enabled": true}}))
        .await;
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("R1"));
    // R6: CSAT on session end needs the capability (the test account has it).
    a.set(json!({"messaging": {"enabled": true, "csat_on_session_end": true, "ended_session_routing": "email"}}))
        .await;
    app.backend
        .store
        .put_account(&Account {
            id: app.account.id.clone(),
            name: "no csat".into(),
            capabilities: vec![],
            created_at: 0,
            messaging_enabled_at: None,
            widget_key: None,
        })
        .await
        .unwrap();
    let v = a.version().await;
    let reply = a.patch(Some(v), json!({"bot": {"enabled": false}})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("R6"));
    let reply = a
        .patch(
            Some(v),
            json!({"messaging": {"csat_on_session_end": false}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}
