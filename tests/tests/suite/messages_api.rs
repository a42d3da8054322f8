//! Messages through HTTP on the emulator: R13 ordering, R14 idempotency (also under
//! concurrency), R15 rich content, R16 internal notes, R17 ticket status.

use std::collections::HashSet;

use domain::model::{Role, TicketStatus};
use futures::future::join_all;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn posted_messages_get_increasing_seqs_and_history_resumes_from_any_cursor() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    for i in 1..=7 {
        let reply = app
            .send_text(&cid, &alice, &format!("m{i}"), &format!("text {i}"))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        assert_eq!(reply.body["message"]["seq"], i);
    }
    let path = format!("/v1/conversations/{cid}/messages?after_seq=2&limit=3");
    let page = app.get(&path, &alice).await;
    assert_eq!(page.status, StatusCode::OK);
    let seqs: Vec<u64> = page.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    assert_eq!(page.body["next_after_seq"], 5);
    let rest = app
        .get(
            &format!("/v1/conversations/{cid}/messages?after_seq=5"),
            &alice,
        )
        .await;
    assert_eq!(rest.body["messages"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["messages"][1]["text"], "text 7");
    let end = app
        .get(
            &format!("/v1/conversations/{cid}/messages?after_seq=7"),
            &alice,
        )
        .await;
    assert_eq!(end.body["messages"], json!([]));
    assert_eq!(end.body["next_after_seq"], 7);
}

#[tokio::test]
async fn page_size_is_clamped_to_the_maximum() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    for i in 0..105 {
        let reply = app.send_text(&cid, &alice, &format!("c{i}"), "x").await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let page = app
        .get(
            &format!("/v1/conversations/{cid}/messages?limit=5000"),
            &alice,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["messages"].as_array().unwrap().len(), 100);
    let default = app
        .get(&format!("/v1/conversations/{cid}/messages"), &alice)
        .await;
    assert_eq!(default.body["messages"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn replayed_client_message_id_returns_original() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let first = app.send_text(&cid, &alice, "once", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app.send_text(&cid, &alice, "once", "hello").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["message"], first.body["message"]);
    assert_eq!(app.stored_messages(&cid).await.len(), 1);
}

#[tokio::test]
async fn reused_client_message_id_with_another_body_conflicts_and_stores_nothing() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    app.send_text(&cid, &alice, "once", "hello").await;
    let conflict = app.send_text(&cid, &alice, "once", "goodbye").await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.error_code(), "idempotency_conflict");
    let stored = app.stored_messages(&cid).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text.as_deref(), Some("hello"));
}

#[tokio::test]
async fn twenty_parallel_posts_of_one_client_message_id_store_exactly_one_message() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let replies =
        join_all((0..20).map(|_| app.send_text(&cid, &alice, "storm", "only once"))).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let replayed = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(created, 1, "{replies:?}");
    assert_eq!(replayed, 19);
    let ids: HashSet<&str> = replies
        .iter()
        .map(|r| r.body["message"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.stored_messages(&cid).await.len(), 1);
}

#[tokio::test]
async fn concurrent_senders_get_distinct_strictly_increasing_seqs() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "agent-1");
    let posts = (0..30).map(|i| {
        let token = if i % 2 == 0 {
            alice.clone()
        } else {
            agent.clone()
        };
        let cid = cid.clone();
        let app = &app;
        async move {
            app.send_text(&cid, &token, &format!("p{i}"), &format!("msg {i}"))
                .await
        }
    });
    let replies = join_all(posts).await;
    let mut seqs: Vec<u64> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["message"]["seq"].as_u64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=30).collect::<Vec<u64>>());
    let stored: Vec<u64> = app
        .stored_messages(&cid)
        .await
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(stored, (1..=30).collect::<Vec<u64>>());
}

#[tokio::test]
async fn internal_notes_are_hidden_from_end_users_and_shown_to_agents() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "agent-1");
    app.send_text(&cid, &alice, "u1", "my order is late").await;
    let note = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &agent,
            json!({"client_message_id": "n1", "type": "internal_note", "text": "VIP customer"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    app.send_text(&cid, &agent, "a1", "Looking into it").await;

    let user_view = app
        .get(&format!("/v1/conversations/{cid}/messages"), &alice)
        .await;
    let texts: Vec<&str> = user_view.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["my order is late", "Looking into it"]);
    assert_eq!(user_view.body["next_after_seq"], 3);

    // A page whose only message is a note still advances the cursor past it.
    let page = app
        .get(
            &format!("/v1/conversations/{cid}/messages?after_seq=1&limit=1"),
            &alice,
        )
        .await;
    assert_eq!(page.body["messages"][0]["text"], "Looking into it");

    let agent_view = app
        .get(&format!("/v1/conversations/{cid}/messages"), &agent)
        .await;
    assert_eq!(agent_view.body["messages"].as_array().unwrap().len(), 3);
    assert_eq!(agent_view.body["messages"][1]["type"], "internal_note");
}

#[tokio::test]
async fn end_users_cannot_post_internal_notes() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::EndUser, "alice"),
            json!({"client_message_id": "n1", "type": "internal_note", "text": "psst"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "internal_note_forbidden");
    assert!(app.stored_messages(&cid).await.is_empty());
}

#[tokio::test]
async fn rich_content_is_stored_as_sent_and_agents_see_its_text_rendering() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let agent = app.token(Role::Agent, "agent-1");
    let rich = json!({
        "layout": "buttons",
        "text": "How can we help?",
        "buttons": [{"label": "Track order", "payload": "track"}, {"label": "FAQ", "url": "https://help.test"}]
    });
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &agent,
            json!({"client_message_id": "r1", "type": "rich", "rich": rich}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let rendering = "How can we help?\n[Track order]\n[FAQ] https://help.test";
    let agent_view = app
        .get(&format!("/v1/conversations/{cid}/messages"), &agent)
        .await;
    assert_eq!(agent_view.body["messages"][0]["text"], rendering);
    assert!(agent_view.body["messages"][0].get("rich").is_none());
    let user_view = app
        .get(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::EndUser, "alice"),
        )
        .await;
    assert_eq!(user_view.body["messages"][0]["rich"], rich);
}

#[tokio::test]
async fn first_public_agent_reply_opens_the_ticket_once() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let agent = app.token(Role::Agent, "agent-1");
    let note = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &agent,
            json!({"client_message_id": "n1", "type": "internal_note", "text": "checking"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    assert_eq!(
        app.stored_conversation(&cid).await.ticket_status,
        TicketStatus::New
    );
    let reply = app.send_text(&cid, &agent, "a1", "Hi Alice").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let opened = app.stored_conversation(&cid).await;
    assert_eq!(opened.ticket_status, TicketStatus::Open);
    // A retry of the same reply changes nothing more.
    let retry = app.send_text(&cid, &agent, "a1", "Hi Alice").await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(
        app.stored_conversation(&cid).await.revision,
        opened.revision
    );
    let view = app.get(&format!("/v1/conversations/{cid}"), &agent).await;
    assert_eq!(view.body["ticket_status"], "open");
}

#[tokio::test]
async fn messages_citing_attachments_that_are_not_clean_are_refused() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::EndUser, "alice"),
            json!({"client_message_id": "f1", "type": "attachment", "attachment_ids": ["a_00000000000000000000000000000000"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "attachment_not_usable");
    assert!(app.stored_messages(&cid).await.is_empty());
}

#[tokio::test]
async fn history_pages_backwards_from_the_latest_without_internal_notes() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "agent-1");
    // seq 1..=9: alice's texts, with an internal note after every second one.
    let mut expected = Vec::new();
    for i in 1..=6 {
        app.send_text(&cid, &alice, &format!("m{i}"), &format!("text {i}"))
            .await;
        expected.push(format!("text {i}"));
        if i % 2 == 0 {
            let note = app
                .post(
                    &format!("/v1/conversations/{cid}/messages"),
                    &agent,
                    json!({"client_message_id": format!("n{i}"), "type": "internal_note", "text": "note"}),
                )
                .await;
            assert_eq!(note.status, StatusCode::CREATED);
        }
    }
    // Alice scrolls back from the end, two at a time.
    let mut seen: Vec<String> = Vec::new();
    let mut before = "latest".to_string();
    let mut pages = 0;
    loop {
        let page = app
            .get(
                &format!("/v1/conversations/{cid}/messages?before_seq={before}&limit=2"),
                &alice,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        pages += 1;
        if pages == 1 {
            assert_eq!(
                page.body["next_after_seq"], 9,
                "the latest page ends the history"
            );
        }
        let texts: Vec<String> = page.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect();
        assert!(texts.len() <= 2);
        seen.splice(0..0, texts);
        match page.body["prev_before_seq"].as_u64() {
            Some(next) => before = next.to_string(),
            None => break,
        }
        assert!(pages < 10, "paging backwards never ends");
    }
    assert_eq!(
        seen, expected,
        "every visible message once, in order, no note"
    );
    // Staff see the notes in the same window.
    let latest = app
        .get(
            &format!("/v1/conversations/{cid}/messages?before_seq=latest&limit=2"),
            &agent,
        )
        .await;
    let kinds: Vec<&str> = latest.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "internal_note"]);
    let bad = app
        .get(
            &format!("/v1/conversations/{cid}/messages?before_seq=soon"),
            &alice,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rich_links_other_than_https_mailto_and_tel_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("alice").await;
    let agent = app.token(Role::Agent, "agent-1");
    let post = |n: usize, rich: serde_json::Value| {
        let (app, agent, cid) = (&app, &agent, &cid);
        async move {
            app.post(
                &format!("/v1/conversations/{cid}/messages"),
                agent,
                json!({"client_message_id": format!("r{n}"), "type": "rich", "rich": rich}),
            )
            .await
        }
    };
    let hostile = [
        json!({"layout": "buttons", "buttons": [{"label": "Open", "url": "javascript:alert(1)"}]}),
        json!({"layout": "buttons", "buttons": [{"label": "Open", "url": " JavaScript:alert(1)"}]}),
        json!({"layout": "buttons", "buttons": [{"label": "Open", "url": "data:text/html,<script>alert(1)</script>"}]}),
        json!({"layout": "buttons", "buttons": [{"label": "Open", "url": "http://plain.example"}]}),
        json!({"layout": "carousel", "items": [{"title": "Mug", "image_url": "javascript:alert(1)"}]}),
        json!({"layout": "carousel", "items": [{"title": "Mug", "buttons": [{"label": "Buy", "url": "vbscript:x"}]}]}),
    ];
    for (n, rich) in hostile.into_iter().enumerate() {
        let reply = post(n, rich.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{rich}");
        assert_eq!(reply.error_code(), "invalid_message", "{rich}");
    }
    assert!(app.stored_messages(&cid).await.is_empty());
    let fine = json!({"layout": "carousel", "items": [{
    "title": "Mug", "image_url": "https://cdn.example/mug.png",
    "buttons": [
        {"label": "Buy", "url": "https://shop.example/mug"},
        {"label": "Mail us", "url": "mailto:help@shop.example"},
        {"label": "Call", "url": "tel:+4712345678"}
    ]}]});
    assert_eq!(post(99, fine).await.status, StatusCode::CREATED);
}
