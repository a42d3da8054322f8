//! Redaction and erasure (#19), on the emulator: staff redact a message (a tombstone keeps its
//! seq, its file is deleted, readers are told over WebSocket); an admin erases an end user
//! (their messages tombstoned, files deleted, name and email gone from conversations and
//! history, the act in the audit log); nobody else can, and nothing else changes.

use std::time::Duration;

use domain::model::Role;
use integration_tests::{files, json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

use super::workspace::end_user_token;

async fn redact(app: &TestApp, cid: &str, seq: &str, token: &str) -> integration_tests::Reply {
    app.post(
        &format!("/v1/conversations/{cid}/messages/{seq}/redact"),
        token,
        json!({}),
    )
    .await
}

/// `DELETE /v1/end-users/{user}` as `token`.
async fn erase(app: &TestApp, user: &str, token: &str) -> integration_tests::Reply {
    app.send_raw(
        reqwest::Method::DELETE,
        &format!("/v1/end-users/{user}"),
        Some(token),
        None,
    )
    .await
}

async fn history(app: &TestApp, cid: &str, token: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/conversations/{cid}/messages"), token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["messages"].as_array().unwrap().clone()
}

/// The ticket history of `cid` as JSON text.
async fn history_json(app: &TestApp, cid: &str, token: &str) -> String {
    let reply = app
        .get(&format!("/v1/conversations/{cid}/history"), token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body.to_string()
}

/// Whether the history of `cid` comes to contain `needle` within 10 s.
async fn history_text(app: &TestApp, cid: &str, token: &str, needle: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if history_json(app, cid, token).await.contains(needle) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn staff_redact_a_message_and_every_reader_gets_the_tombstone() {
    let app = TestApp::start_live().await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "ag-1");
    let cid = app.new_conversation("alice").await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    for (id, text) in [("m1", "my card is 4111 1111 1111 1111"), ("m2", "thanks")] {
        assert_eq!(
            app.send_text(&cid, &alice, id, text).await.status,
            StatusCode::CREATED
        );
    }
    let mut socket = app.connect(&alice).await;
    socket.round_trip().await;

    let reply = redact(&app, &cid, "1", &agent).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["seq"], 1);
    assert_eq!(reply.body["text"], Value::Null);
    assert_eq!(reply.body["redacted"]["reason"], "redacted");
    assert_eq!(reply.body["redacted"]["by"], "ag-1");
    let tombstone_at = reply.body["redacted"]["at"].clone();

    // The end user's screen is told, without who did it.
    let frame = socket
        .expect("message.redacted", Duration::from_secs(10))
        .await;
    assert_eq!(frame["data"]["message"]["seq"], 1);
    assert_eq!(frame["data"]["message"]["text"], Value::Null);
    assert!(frame["data"]["message"]["redacted"].get("by").is_none());
    // History keeps its numbering; the other message is untouched.
    let messages = history(&app, &cid, &alice).await;
    assert_eq!(
        messages
            .iter()
            .map(|m| m["seq"].clone())
            .collect::<Vec<_>>(),
        [json!(1), json!(2)]
    );
    assert_eq!(messages[0]["text"], Value::Null);
    assert_eq!(messages[1]["text"], "thanks");
    let stored = app.stored_messages(&cid).await;
    assert!(
        stored
            .iter()
            .all(|m| !m.text.as_deref().unwrap_or_default().contains("4111")),
        "the text is gone from the store"
    );
    // Twice: the first tombstone. A replay of its client_message_id is not stored again.
    let again = redact(&app, &cid, "1", &app.token(Role::Admin, "admin-2")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["redacted"]["at"], tombstone_at);
    assert_eq!(again.body["redacted"]["by"], "ag-1");
    let replay = app
        .send_text(&cid, &alice, "m1", "my card is 4111 1111 1111 1111")
        .await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{:?}", replay.body);
    assert_eq!(app.stored_messages(&cid).await.len(), 2);

    // Who may not, and what is not there.
    let cases = [
        (alice.clone(), "2", StatusCode::FORBIDDEN),
        (
            app.other_account.token(Role::Agent, "ag-9"),
            "2",
            StatusCode::NOT_FOUND,
        ),
        (agent.clone(), "99", StatusCode::NOT_FOUND),
        (agent.clone(), "0", StatusCode::NOT_FOUND),
        (agent.clone(), "two", StatusCode::BAD_REQUEST),
    ];
    for (token, seq, status) in cases {
        let reply = redact(&app, &cid, seq, &token).await;
        assert_eq!(reply.status, status, "seq {seq}: {:?}", reply.body);
        assert!(reply.body["error"]["code"].is_string());
    }
    assert_eq!(history(&app, &cid, &alice).await[1]["text"], "thanks");
}

#[tokio::test]
async fn a_redacted_messages_file_is_deleted_and_no_longer_served() {
    let app = TestApp::start().await;
    let alice = app.token(Role::EndUser, "alice");
    let cid = app.new_conversation("alice").await;
    let (aid, completed) = app.attach(&cid, &alice, "receipt.png", files::png()).await;
    assert_eq!(completed.body["status"], "clean", "{:?}", completed.body);
    let posted = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &alice,
            json!({"client_message_id": "a1", "type": "attachment", "attachment_ids": [aid]}),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{:?}", posted.body);
    let seq = posted.body["message"]["seq"].to_string();
    let attachment = app
        .backend
        .store
        .get_attachment(&app.account.id, &cid, &aid)
        .await
        .unwrap()
        .unwrap();
    let validated = domain::attachments::validated_key(&attachment.object_key);
    assert!(app
        .backend
        .objects
        .object_head(&validated)
        .await
        .unwrap()
        .is_some());

    let reply = redact(&app, &cid, &seq, &app.token(Role::Agent, "ag-1")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["attachment_ids"], json!([]));
    let status = app
        .get(
            &format!("/v1/conversations/{cid}/attachments/{aid}"),
            &alice,
        )
        .await;
    assert_eq!(status.body["status"], "erased", "{:?}", status.body);
    assert!(status.body.get("download_url").is_none_or(|u| u.is_null()));
    // The bytes are deleted by validate-attachment, from the job the redaction queued.
    assert_eq!(app.run_attachment_queue().await, 0);
    for key in [&attachment.object_key, &validated] {
        assert!(
            app.backend
                .objects
                .object_head(key)
                .await
                .unwrap()
                .is_none(),
            "{key} is deleted"
        );
    }
    // An erased file cannot be sent again.
    let resent = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &alice,
            json!({"client_message_id": "a2", "type": "attachment", "attachment_ids": [aid]}),
        )
        .await;
    assert!(resent.status.is_client_error(), "{:?}", resent.body);
}

#[tokio::test]
async fn erasing_an_end_user_tombstones_what_they_wrote_drops_who_they_were_and_is_audited() {
    // Live: the ticket's history is kept from the change stream.
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "admin-1");
    let agent = app.token(Role::Agent, "ag-1");
    app.patch_settings(&admin, json!({"bot": {"enabled": false}}))
        .await;
    let carol = end_user_token(
        &app,
        "carol",
        json!({"name": "Carol Danvers", "email": "carol@example.com"}),
    );
    let bob = app.token(Role::EndUser, "bob");
    let mut carols = Vec::new();
    for n in 0..2 {
        let reply = app.post("/v1/conversations", &carol, json!({})).await;
        let cid = reply.body["id"].as_str().unwrap().to_string();
        for i in 0..3 {
            let sent = app
                .send_text(&cid, &carol, &format!("c{n}{i}"), "my address is 1 Main St")
                .await;
            assert_eq!(sent.status, StatusCode::CREATED);
        }
        let reply = app.send_text(&cid, &agent, &format!("a{n}"), "noted").await;
        assert_eq!(reply.status, StatusCode::CREATED);
        carols.push(cid);
    }
    // Her profile changes once, so the ticket's history holds her name.
    let renamed = end_user_token(&app, "carol", json!({"name": "Carol D."}));
    assert_eq!(
        app.send_text(&carols[0], &renamed, "c99", "moved")
            .await
            .status,
        StatusCode::CREATED
    );
    let bobs = app.new_conversation("bob").await;
    assert_eq!(
        app.send_text(&bobs, &bob, "b1", "hello").await.status,
        StatusCode::CREATED
    );
    assert!(
        history_text(&app, &carols[0], &agent, "Carol D.").await,
        "the history records her new name"
    );
    let version_before = app.get("/v1/settings", &admin).await.body["version"]
        .as_u64()
        .unwrap();

    // Only admins.
    for token in [&agent, &carol] {
        let reply = erase(&app, "carol", token).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    }
    let reply = erase(&app, "carol", &admin).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["conversations"], 2);
    assert_eq!(reply.body["messages"], 7);
    assert_eq!(reply.body["complete"], true);
    assert_eq!(reply.body["audit_version"], version_before + 1);
    assert_eq!(reply.body["attachments"], 0);

    // The agent's replies stay; hers are tombstones with their seqs.
    for cid in &carols {
        let messages = history(&app, cid, &agent).await;
        for m in &messages {
            if m["author"]["id"] == "carol" {
                assert_eq!(m["text"], Value::Null, "{m}");
                assert_eq!(m["redacted"]["reason"], "erased");
            } else {
                assert_eq!(m["text"], "noted");
            }
        }
        let conversation = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
        assert!(conversation.body["end_user"]
            .get("name")
            .is_none_or(|n| n.is_null()));
        assert!(conversation.body["end_user"]
            .get("email")
            .is_none_or(|n| n.is_null()));
    }
    // Neither her old name nor her new one is left in the ticket's history, the erasure's
    // own change included (written from the stream after the answer).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = app
            .get(&format!("/v1/conversations/{}/history", carols[0]), &agent)
            .await;
        let recorded = reply.body["changes"].as_array().unwrap().iter().any(|c| {
            c["field"] == "end_user.name" && c["after"].is_null() && c["before"] == "[erased]"
        });
        if recorded {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the erasure's own change reaches the history: {:?}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = history_json(&app, &carols[0], &agent).await;
    assert!(!text.contains("Carol"), "{text}");
    assert!(!text.contains("carol@example.com"), "{text}");
    // Bob is untouched.
    assert_eq!(history(&app, &bobs, &bob).await[0]["text"], "hello");
    // The audit log says who erased whom.
    let audited = super::settings_api::admin(&app).audit().await;
    let last = audited.last().unwrap();
    assert_eq!(last.actor, "admin-1");
    let erasure = &last.changes["erasure.end_user"];
    assert_eq!(erasure.before, "carol");
    assert_eq!(erasure.after["messages"], 7);
    // Again: nothing left to erase, and the audit chain still verifies.
    let again = erase(&app, "carol", &admin).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["messages"], 0);
    let audited = super::settings_api::admin(&app).audit().await;
    assert_eq!(audited.len() as u64, version_before + 2);
    assert_eq!(domain::settings::verify_chain(&audited), Ok(()));
}

/// R34 (#33 item 4): what the person wrote as a visitor, before identify, is theirs too. On
/// the main of #33 the visitor-time text survived an erasure that answered `complete: true`.
#[tokio::test]
async fn erasure_reaches_what_the_person_wrote_as_a_visitor_before_identify() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let key = super::widget_api::widget_key(&app).await;
    let visitor = super::widget_api::visitor_token(&app, &key).await;
    let created = app.post("/v1/conversations", &visitor, json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let cid = created.body["id"].as_str().unwrap().to_string();
    let before = "my address is 12 Rue Secrète";
    assert_eq!(
        app.send_text(&cid, &visitor, "v-1", before).await.status,
        StatusCode::CREATED
    );
    let erin = end_user_token(
        &app,
        "erin",
        json!({"name": "Erin", "email": "erin@example.com"}),
    );
    let identified = app
        .post(
            "/v1/widget/identify",
            &visitor,
            json!({"user_token": erin.clone()}),
        )
        .await;
    assert_eq!(identified.status, StatusCode::OK, "{:?}", identified.body);
    let after = "and my phone is 06 12 34 56 78";
    assert_eq!(
        app.send_text(&cid, &erin, "e-1", after).await.status,
        StatusCode::CREATED
    );
    // Positive control: both texts are there, readable by staff, before the erasure.
    let text = serde_json::to_string(&history(&app, &cid, &admin).await).unwrap();
    assert!(text.contains(before) && text.contains(after), "{text}");

    let erased = erase(&app, "erin", &admin).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    assert_eq!(erased.body["messages"], 2, "{:?}", erased.body);
    assert_eq!(erased.body["complete"], true);
    let text = serde_json::to_string(&history(&app, &cid, &admin).await).unwrap();
    assert!(
        !text.contains(before),
        "the visitor-time text survived: {text}"
    );
    assert!(!text.contains(after), "{text}");
    for stored in app.stored_messages(&cid).await {
        if stored.author_role == domain::model::AuthorRole::EndUser {
            assert!(stored.redacted.is_some(), "{stored:?}");
        }
    }
}

/// R34: CSAT comments and the end user's id on survey items are erased; the score stays (the
/// report's counts do not change), and the answer says how many answers were reached.
#[tokio::test]
async fn erasure_reaches_csat_comments_and_lists_them_in_its_answer() {
    use integration_tests::agents::agent;
    let app = TestApp::start_live().await;
    super::csat::set_csat(&app, true).await;
    agent(&app, "ag-1", 3, &[], "online").await;
    let cid = super::csat::ended_conversation(&app, "frank", "ag-1").await;
    super::csat::survey(&app, &cid, "frank", super::csat::STREAM_LAG)
        .await
        .expect("the survey follows the end");
    let comment = "the agent was great, call me at 555-0199";
    let rated =
        super::csat::rate(&app, &cid, "frank", json!({"score": 5, "comment": comment})).await;
    assert_eq!(rated.status, StatusCode::CREATED, "{:?}", rated.body);
    let stored = |app: &TestApp| {
        let (store, account, cid) = (
            app.backend.store.clone(),
            app.account.id.clone(),
            cid.clone(),
        );
        async move {
            let request = store
                .latest_csat_request(&account, &cid)
                .await
                .unwrap()
                .unwrap();
            let ratings = store
                .list_csat_ratings(&account, (0, i64::MAX / 2), 100)
                .await
                .unwrap();
            (request, ratings)
        }
    };
    // Positive control: the comment and the person are on both items before.
    let (request, ratings) = stored(&app).await;
    assert_eq!(request.comment.as_deref(), Some(comment));
    assert_eq!(request.end_user_id, "frank");
    assert!(ratings
        .iter()
        .any(|r| r.comment.as_deref() == Some(comment)));

    let admin = app.token(Role::Admin, "admin-1");
    let erased = erase(&app, "frank", &admin).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    assert_eq!(erased.body["csat_answers"], 1, "{:?}", erased.body);
    let (request, ratings) = stored(&app).await;
    assert_eq!(request.comment, None);
    assert_eq!(request.end_user_id, "[erased]");
    assert_eq!(request.score, Some(5), "the score is not about the person");
    for rating in ratings.iter().filter(|r| r.conversation_id == cid) {
        assert_eq!(
            (rating.comment.as_deref(), rating.end_user_id.as_str()),
            (None, "[erased]")
        );
    }
    let report = app.get("/v1/reports/csat", &admin).await;
    assert!(!report.body.to_string().contains(comment));
    // Again: nothing left to reach.
    let again = erase(&app, "frank", &admin).await;
    assert_eq!(again.body["csat_answers"], 0, "{:?}", again.body);
}
