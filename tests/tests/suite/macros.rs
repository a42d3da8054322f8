//! Macros (#36) over HTTP: admins' shared macros and agents' own, who sees and changes which,
//! refusals that store nothing, placeholders filled from the conversation and the agent's token
//! (a missing one empty, never raw braces), and an application that posts once and applies its
//! actions once however often it is retried.

use domain::model::Role;
use integration_tests::agents::{accept, agent, offered_to};
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn ids(reply: &integration_tests::Reply) -> Vec<String> {
    reply.body["macros"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", reply.body))
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn shared_macros_are_admins_and_personal_ones_their_agents_alone() {
    let app = TestApp::start().await;
    let (admin, ana, bruno, user) = (
        app.token(Role::Admin, "boss"),
        app.token(Role::Agent, "ana"),
        app.token(Role::Agent, "bruno"),
        app.token(Role::EndUser, "eu-1"),
    );
    let draft = json!({"title": "Refund", "text": "Hi {{end_user.name}}, refunded."});
    assert_eq!(
        app.post("/v1/macros", &user, draft.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    for (body, status, code) in [
        (
            json!({"title": "x", "text": "Hi {{customer.name}}"}),
            422,
            "invalid_macro",
        ),
        (
            json!({"title": "x", "text": "Hi {{end_user.name"}),
            422,
            "invalid_macro",
        ),
        (
            json!({"title": "x", "text": "y".repeat(16_385)}),
            422,
            "invalid_macro",
        ),
        (json!({"title": "", "text": "y"}), 422, "invalid_macro"),
        (
            json!({"title": "x", "text": "y", "actions": {"tags_add": ["Not A Tag"]}}),
            422,
            "invalid_macro",
        ),
        (
            json!({"title": "x", "text": "y", "actions": {"close": true}}),
            400,
            "invalid_request",
        ),
        (
            json!({"title": "x", "text": "y", "shared": true}),
            400,
            "invalid_request",
        ),
    ] {
        let refused = app.post("/v1/macros", &admin, body).await;
        assert_eq!(refused.status.as_u16(), status, "{:?}", refused.body);
        assert_eq!(refused.error_code(), code);
    }
    assert!(
        ids(&app.get("/v1/macros", &admin).await).is_empty(),
        "refusals stored nothing"
    );

    let shared = app.post("/v1/macros", &admin, draft.clone()).await;
    assert_eq!(shared.status, StatusCode::CREATED, "{:?}", shared.body);
    assert_eq!(shared.body["shared"], true);
    let shared_id = shared.body["id"].as_str().unwrap().to_string();
    let own = app.post("/v1/macros", &ana, draft.clone()).await;
    assert_eq!(own.status, StatusCode::CREATED, "{:?}", own.body);
    assert_eq!(
        (own.body["shared"].clone(), own.body["owner_id"].clone()),
        (json!(false), json!("ana"))
    );
    let own_id = own.body["id"].as_str().unwrap().to_string();

    let mut ana_sees = ids(&app.get("/v1/macros", &ana).await);
    ana_sees.sort();
    let mut both = vec![shared_id.clone(), own_id.clone()];
    both.sort();
    assert_eq!(ana_sees, both);
    assert_eq!(
        ids(&app.get("/v1/macros", &bruno).await),
        std::slice::from_ref(&shared_id)
    );
    assert_eq!(
        ids(&app.get("/v1/macros", &admin).await),
        std::slice::from_ref(&shared_id)
    );
    let own_path = format!("/v1/macros/{own_id}");
    assert_eq!(
        app.get(&own_path, &bruno).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put(&own_path, &bruno, draft.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    let shared_path = format!("/v1/macros/{shared_id}");
    assert_eq!(
        app.put(&shared_path, &ana, draft.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let renamed = json!({"title": "Refund done", "text": "Done, {{end_user.name}}."});
    let changed = app.put(&own_path, &ana, renamed.clone()).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["revision"], 2);
    assert_eq!(changed.body["owner_id"], "ana");
    let bad = app
        .put(&own_path, &ana, json!({"title": "x", "text": "{{nope}}"}))
        .await;
    assert_eq!(bad.error_code(), "invalid_macro");
    assert_eq!(app.get(&own_path, &ana).await.body["title"], "Refund done");
    let delete = |path: String, token: String| {
        let app = &app;
        async move {
            app.send_raw(Method::DELETE, &path, Some(&token), None)
                .await
        }
    };
    assert_eq!(
        delete(shared_path.clone(), ana.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(own_path.clone(), ana.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(own_path.clone(), ana.clone()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(shared_path.clone(), admin.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(ids(&app.get("/v1/macros", &ana).await).is_empty());
    assert_eq!(
        app.get("/v1/macros/nonsense", &ana).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn applying_a_macro_fills_its_placeholders_posts_once_and_applies_its_actions_once() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "boss");
    agent(&app, "ana", 2, &[], "online").await;
    let alice = app.token_with_claims(Role::EndUser, "alice", json!({"name": "Alice"}));
    let created = app.post("/v1/conversations", &alice, json!({})).await;
    let cid = created.body["id"].as_str().unwrap().to_string();
    let handed = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(handed.status, StatusCode::ACCEPTED, "{:?}", handed.body);
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ana"));
    assert_eq!(accept(&app, "ana", &cid).await.status, StatusCode::OK);
    let ticket = created.body["ticket_id"].as_str().unwrap().to_string();

    let text = "Hi {{end_user.name}}, {{agent.name}} here about {{ticket.id}}; we'll write to {{end_user.email}}.";
    let made = app
        .post(
            "/v1/macros",
            &admin,
            json!({"title": "Refund", "text": text, "actions": {"priority": "high", "group": "billing", "tags_add": ["refund"], "end_session": true}}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let apply = format!(
        "/v1/conversations/{cid}/macros/{}/apply",
        made.body["id"].as_str().unwrap()
    );
    let ana = app.token_with_claims(Role::Agent, "ana", json!({"name": "Ana"}));
    let expected = format!("Hi Alice, Ana here about {ticket}; we'll write to .");
    let preview = app
        .post(
            &apply,
            &ana,
            json!({"client_message_id": "m-1", "preview": true}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{:?}", preview.body);
    assert_eq!(preview.body["text"], expected.as_str());
    // An end user, another account's macro id, and a bad body apply nothing.
    assert_eq!(
        app.post(&apply, &alice, json!({"client_message_id": "m-1"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unknown =
        format!("/v1/conversations/{cid}/macros/mac_0123456789abcdef0123456789abcdef/apply");
    assert_eq!(
        app.post(&unknown, &ana, json!({"client_message_id": "m-1"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&apply, &ana, json!({"preview": true}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let conversation = app.get(&format!("/v1/conversations/{cid}"), &admin).await;
    assert_eq!(
        conversation.body["priority"], "normal",
        "a preview changes nothing"
    );

    let posted = app
        .post(&apply, &ana, json!({"client_message_id": "m-1"}))
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{:?}", posted.body);
    assert_eq!(posted.body["message"]["text"], expected.as_str());
    let seq = posted.body["message"]["seq"].clone();
    let after = app.get(&format!("/v1/conversations/{cid}"), &admin).await;
    assert_eq!(after.body["priority"], "high", "{:?}", after.body);
    assert_eq!(after.body["group"], "billing");
    assert!(after.body["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("refund")));
    assert_eq!(after.body["session"], "ended", "{:?}", after.body);
    // The same application again: the message posted before, and nothing more changes.
    let again = app
        .post(&apply, &ana, json!({"client_message_id": "m-1"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.body["message"]["seq"], seq);
    let messages = app
        .get(&format!("/v1/conversations/{cid}/messages"), &admin)
        .await;
    let texts: Vec<&Value> = messages.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == expected.as_str())
        .collect();
    assert_eq!(texts.len(), 1, "{:?}", messages.body);
    let last = app.get(&format!("/v1/conversations/{cid}"), &admin).await;
    assert_eq!(
        last.body["revision"], after.body["revision"],
        "a retry changed the conversation"
    );
}

#[tokio::test]
async fn every_macro_change_is_in_a_hash_chained_audit_log_admins_read() {
    let app = TestApp::start().await;
    let (admin, ana) = (
        app.token(Role::Admin, "boss"),
        app.token(Role::Agent, "ana"),
    );
    let body = |title: &str| json!({"title": title, "text": "Hi {{end_user.name}}"});
    let shared = app.post("/v1/macros", &admin, body("Refund")).await;
    assert_eq!(shared.status, StatusCode::CREATED, "{:?}", shared.body);
    let shared_id = shared.body["id"].as_str().unwrap().to_string();
    let own = app.post("/v1/macros", &ana, body("Mine")).await;
    let own_id = own.body["id"].as_str().unwrap().to_string();
    let path = format!("/v1/macros/{shared_id}");
    let changed = app.put(&path, &admin, body("Refund done")).await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    let own_path = format!("/v1/macros/{own_id}");
    let deleted = app
        .send_raw(Method::DELETE, &own_path, Some(&ana), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);
    // A refused change is not in the log.
    let refused = app.put(&path, &ana, body("Not hers")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);

    let log = app.get("/v1/macros/audit", &admin).await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let entries = log.body["entries"].as_array().unwrap();
    let seen: Vec<(String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["version"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [("boss", 1), ("ana", 2), ("boss", 3), ("ana", 4)];
    assert_eq!(
        seen,
        expected.map(|(a, v)| (a.to_string(), v)).to_vec(),
        "{entries:?}"
    );
    let change = &entries[2]["changes"][format!("macros.{shared_id}")];
    assert_eq!(change["before"]["title"], "Refund");
    assert_eq!(change["after"]["title"], "Refund done");
    assert_eq!(
        entries[3]["changes"][format!("macros.{own_id}")]["after"],
        Value::Null
    );
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let page = app.get("/v1/macros/audit?cursor=2&limit=1", &admin).await;
    assert_eq!(page.body["entries"][0]["version"], 3, "{:?}", page.body);
    assert_eq!(page.body["next_cursor"], "3");
    // Admins only.
    for token in [ana, app.token(Role::EndUser, "eu-1")] {
        let reply = app.get("/v1/macros/audit", &token).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    }
}

#[tokio::test]
async fn an_account_keeps_at_most_500_macros_and_a_deletion_makes_room() {
    let app = TestApp::start_in_memory().await;
    let ana = app.token(Role::Agent, "ana");
    let mut last = String::new();
    for i in 0..domain::macros::MAX_MACROS_PER_ACCOUNT {
        let made = app
            .post(
                "/v1/macros",
                &ana,
                json!({"title": format!("m{i}"), "text": "Hi"}),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{i}: {:?}", made.body);
        last = made.body["id"].as_str().unwrap().to_string();
    }
    let over = app
        .post(
            "/v1/macros",
            &ana,
            json!({"title": "one more", "text": "Hi"}),
        )
        .await;
    assert_eq!(over.error_code(), "too_many_macros", "{:?}", over.body);
    let path = format!("/v1/macros/{last}");
    let gone = app.send_raw(Method::DELETE, &path, Some(&ana), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let room = app
        .post(
            "/v1/macros",
            &ana,
            json!({"title": "one more", "text": "Hi"}),
        )
        .await;
    assert_eq!(room.status, StatusCode::CREATED, "{:?}", room.body);
}
