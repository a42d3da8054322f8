//! Object-level authorization matrix: for every route that takes an id, a user of account A
//! asking for account B's object, and an end user asking for another end user's conversation,
//! gets 404 (or 403 where the route is not for that role at all, before any lookup), changes
//! nothing, and makes no AWS request outside its own tenant's keys (checked on the wire, by a
//! recording proxy between the functions and the emulator).

use domain::model::Role;
use integration_tests::faults::FaultProxy;
use integration_tests::{endpoint, json, TestApp};
use reqwest::{Method, StatusCode};

/// Routes that take a conversation (and attachment) id, with a valid body for each.
fn routes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    let empty = Some(json!({}));
    vec![
        (Method::GET, "/v1/conversations/{cid}", None),
        (Method::GET, "/v1/conversations/{cid}/messages", None),
        (
            Method::POST,
            "/v1/conversations/{cid}/messages",
            Some(json!({"client_message_id": "x-1", "type": "text", "text": "hi"})),
        ),
        (
            Method::POST,
            "/v1/conversations/{cid}/events",
            Some(json!({"type": "typing_start"})),
        ),
        (
            Method::POST,
            "/v1/conversations/{cid}/handoff",
            empty.clone(),
        ),
        (
            Method::POST,
            "/v1/conversations/{cid}/attachments",
            Some(json!({"file_name": "a.txt", "content_type": "text/plain", "size": 5})),
        ),
        (
            Method::GET,
            "/v1/conversations/{cid}/attachments/{aid}",
            None,
        ),
        (
            Method::POST,
            "/v1/conversations/{cid}/attachments/{aid}/complete",
            empty.clone(),
        ),
        (
            Method::POST,
            "/v1/conversations/{cid}/accept",
            empty.clone(),
        ),
        (Method::POST, "/v1/conversations/{cid}/end", empty.clone()),
        (Method::POST, "/v1/conversations/{cid}/close", empty),
    ]
}

/// Routes no end user may call, whoever's object it is (403 before any lookup).
fn staff_only(path: &str) -> bool {
    // An end user closes their own conversation while the bot holds it (#36's "That
    // answered it"), so another's is not found to them, as any other object.
    path.ends_with("/accept") || path.ends_with("/end")
}

/// A conversation of end user `user` with one admitted attachment, made with `token`s of
/// its account; returns (cid, aid).
async fn conversation_with_attachment(app: &TestApp, token: &str) -> (String, String) {
    let created = app.post("/v1/conversations", token, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let cid = created.body["id"].as_str().unwrap().to_string();
    let admitted = app
        .post(
            &format!("/v1/conversations/{cid}/attachments"),
            token,
            json!({"file_name": "note.txt", "content_type": "text/plain", "size": 5}),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
    let aid = admitted.body["attachment_id"].as_str().unwrap().to_string();
    (cid, aid)
}

#[tokio::test]
async fn another_tenants_or_users_objects_are_not_found_and_never_read() {
    let proxy = FaultProxy::start(&endpoint(), 1).await;
    let app = TestApp::start_at(&proxy.url).await;
    let other = app.other_account.clone();
    let (their_cid, their_aid) =
        conversation_with_attachment(&app, &other.token(Role::EndUser, "bob")).await;
    let (alices_cid, alices_aid) =
        conversation_with_attachment(&app, &app.token(Role::EndUser, "alice")).await;
    let theirs_before = app
        .backend
        .store
        .get_conversation(&other.id, &their_cid)
        .await
        .unwrap()
        .unwrap();
    let alices_before = app.stored_conversation(&alices_cid).await;

    // (caller's token, caller's role, cid, aid): A's users asking for B's objects, and
    // end user mallory asking for alice's.
    let callers = [
        (
            app.token(Role::EndUser, "eve"),
            Role::EndUser,
            &their_cid,
            &their_aid,
        ),
        (
            app.token(Role::Agent, "ag-a"),
            Role::Agent,
            &their_cid,
            &their_aid,
        ),
        (
            app.token(Role::Admin, "ad-a"),
            Role::Admin,
            &their_cid,
            &their_aid,
        ),
        (
            app.token(Role::EndUser, "mallory"),
            Role::EndUser,
            &alices_cid,
            &alices_aid,
        ),
    ];
    proxy.start_recording();
    let mut checked = 0;
    for (token, role, cid, aid) in &callers {
        for (method, template, body) in routes() {
            let path = template.replace("{cid}", cid).replace("{aid}", aid);
            let reply = app
                .send_raw(
                    method.clone(),
                    &path,
                    Some(token),
                    body.as_ref().map(|b| b.to_string().into_bytes()),
                )
                .await;
            let expected = if *role == Role::EndUser && staff_only(template) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(
                reply.status, expected,
                "{role:?} {method} {template}: {:?}",
                reply.body
            );
            checked += 1;
        }
    }
    let requests = proxy.take_recording();
    assert_eq!(checked, callers.len() * routes().len());
    assert!(!requests.is_empty(), "the proxy saw no AWS request");
    // The check sees keys: the functions' own lookups name the caller's tenant.
    let own_keys = format!("A#{}", app.account.id);
    assert!(requests.iter().any(|e| e.request.contains(&own_keys)));
    let foreign_keys = format!("A#{}", other.id);
    for exchange in &requests {
        assert!(
            !exchange.request.contains(&foreign_keys),
            "a request reached another tenant's keys: {exchange:?}"
        );
    }
    // Nothing changed.
    assert_eq!(
        app.backend
            .store
            .get_conversation(&other.id, &their_cid)
            .await
            .unwrap()
            .unwrap(),
        theirs_before
    );
    assert!(app
        .backend
        .store
        .list_messages(&other.id, &their_cid, 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(app.stored_conversation(&alices_cid).await, alices_before);
    assert!(app.stored_messages(&alices_cid).await.is_empty());
}
