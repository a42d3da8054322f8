//! Bad bodies found by the fuzzer (#40): JSON that is not an object, whole floats, group
//! lists; each gets the contract's 4xx and nothing stored changes.

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};

/// #40 (found by Schemathesis): a body that is JSON but not an object (`[]`) is refused, as
/// the contract's schemas say, where serde would have read a struct from the array; a number
/// with a zero fraction is the integer it equals (JSON Schema's `integer`), where `15.0` was
/// refused. On the old code `[]` made a conversation (201) and `15.0` was 400.
#[tokio::test]
async fn bodies_are_objects_and_whole_numbers_are_integers() {
    let app = TestApp::start().await;
    let alice = app.token(Role::EndUser, "alice");
    let refused = app
        .send_raw(
            Method::POST,
            "/v1/conversations",
            Some(&alice),
            Some(b"[]".to_vec()),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.error_code(), "invalid_request");
    let created = app
        .send_raw(
            Method::POST,
            "/v1/conversations",
            Some(&alice),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

    let admin = app.token(Role::Admin, "admin-1");
    let stored = app
        .put(
            "/v1/settings/workspace",
            &admin,
            json!({"help_center_articles": 15.0}),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
    assert_eq!(stored.body["help_center_articles"], 15);
    let fractional = app
        .put(
            "/v1/settings/workspace",
            &admin,
            json!({"help_center_articles": 15.5}),
        )
        .await;
    assert_eq!(
        fractional.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        fractional.body
    );
    let read = app.get("/v1/settings/workspace", &admin).await;
    assert_eq!(read.body["help_center_articles"], 15);
}

/// #40 (found by Schemathesis): an agent's groups follow the rule of every group (no control
/// characters, no surrounding spaces) and the contract's 50 counts the list as sent. On the
/// old code 60 names with copies, and a name with a control character, were stored (200).
#[tokio::test]
async fn agent_groups_follow_the_rule_of_every_group() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let path = "/v1/agents/ag-1/groups";
    let sixty: Vec<String> = (0..60).map(|n| format!("g{}", n % 30)).collect();
    for refused in [
        json!({"groups": ["sales", "bad\u{1}name"]}),
        json!({"groups": [" sales"]}),
        json!({"groups": sixty}),
    ] {
        let reply = app.put(path, &admin, refused.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(reply.error_code(), "invalid_groups");
    }
    let me = app
        .get("/v1/agents/me", &app.token(Role::Agent, "ag-1"))
        .await;
    assert_eq!(me.body["groups"], json!([]), "nothing stored");
    let stored = app
        .put(
            path,
            &admin,
            json!({"groups": ["support", "sales", "sales"]}),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
    assert_eq!(stored.body["groups"], json!(["sales", "support"]));
}

/// #40 (found by Schemathesis): the workspace's groups follow the same rule; a name with a
/// control character was stored (200) on the old code.
#[tokio::test]
async fn workspace_groups_follow_the_rule_of_every_group() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let refused = app
        .put(
            "/v1/settings/workspace",
            &admin,
            json!({"groups": ["sales", "a\u{7f}b"]}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.error_code(), "invalid_workspace");
    let stored = app
        .put(
            "/v1/settings/workspace",
            &admin,
            json!({"groups": ["sales"]}),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
}

/// Found by Schemathesis (CI's fuzzing phase, seed 4040): `{"seq": null}` on an event was
/// taken as no seq (202), where the contract's `seq` is an integer when present. A typing
/// event without `seq` is the positive control.
#[tokio::test]
async fn an_events_seq_is_a_number_or_absent_never_null() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let end_user = app.token(Role::EndUser, "eu-1");
    let path = format!("/v1/conversations/{cid}/events");
    let refused = app
        .post(
            &path,
            &end_user,
            json!({"type": "typing_start", "seq": null}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.error_code(), "invalid_request");
    let typing = app
        .post(&path, &end_user, json!({"type": "typing_start"}))
        .await;
    assert_eq!(typing.status, StatusCode::ACCEPTED, "{:?}", typing.body);
}
