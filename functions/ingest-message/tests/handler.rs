//! The handler called directly on the in-memory backend: settings-dependent behaviour (R3, R8)
//! and session rules (R22) that need stored state the HTTP API cannot set yet.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use adapters::memory::{MemoryQueue, MemoryStore};
use domain::model::{Control, Role, RoutingRequest, SessionState};
use use_cases::auth::mint_token;
use use_cases::backend::Backend;
use use_cases::ports::Queue;

struct Harness {
    store: Arc<MemoryStore>,
    queue: Arc<MemoryQueue>,
    backend: Backend,
}

impl Harness {
    async fn new(settings: Option<Value>) -> Harness {
        let store = Arc::new(MemoryStore::default());
        if let Some(settings) = settings {
            store.put_settings_document("acme", settings).unwrap();
        }
        let queue = Arc::new(MemoryQueue::new(Duration::from_secs(30), 5));
        let backend = Backend {
            store: store.clone(),
            routing_queue: queue.clone(),
            ..adapters::wiring::in_memory()
        };
        backend
            .bootstrap_account("acme", "k1", "secret")
            .await
            .unwrap();
        Harness {
            store,
            queue,
            backend,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        role: Role,
        body: Value,
    ) -> (StatusCode, Value) {
        let token = mint_token(
            "acme",
            "k1",
            "secret",
            "alice",
            role,
            domain::now_ms() / 1000,
            600,
        );
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let response = ingest_message::handle(&self.backend, request).await;
        let status = response.status();
        (status, serde_json::from_str(response.body()).unwrap())
    }

    async fn routing_requests(&self) -> Vec<RoutingRequest> {
        self.queue
            .receive(10)
            .await
            .unwrap()
            .iter()
            .map(|m| serde_json::from_str(&m.body).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn with_the_bot_off_new_conversations_go_straight_to_routing() {
    let h = Harness::new(Some(json!({"bot": {"enabled": false}}))).await;
    let (status, body) = h
        .call(Method::POST, "/v1/conversations", Role::EndUser, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["control"], "agent");
    let requests = h.routing_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].conversation_id.as_deref(), body["id"].as_str());
    assert_eq!(requests[0].reason, "bot_disabled");
}

#[tokio::test]
async fn with_messaging_off_the_widget_starts_live_chats() {
    let h = Harness::new(Some(json!({"messaging": {"enabled": false}}))).await;
    let (status, body) = h
        .call(Method::POST, "/v1/conversations", Role::EndUser, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["channel"], "chat");
    assert_eq!(body["tags"], json!(["via_chat"]));
}

#[tokio::test]
async fn next_end_user_message_after_an_ended_session_starts_a_new_ticket_under_the_bot() {
    let h = Harness::new(None).await;
    let (_, created) = h
        .call(Method::POST, "/v1/conversations", Role::EndUser, json!({}))
        .await;
    let cid = created["id"].as_str().unwrap().to_string();
    let messages = format!("/v1/conversations/{cid}/messages");
    let first = json!({"client_message_id": "m1", "type": "text", "text": "hi"});
    assert_eq!(
        h.call(Method::POST, &messages, Role::EndUser, first)
            .await
            .0,
        StatusCode::CREATED
    );

    // An agent ended the session (the end-session function will do this; here, straight in the store).
    use use_cases::ports::ConversationStore;
    let mut ended = h
        .store
        .get_conversation("acme", &cid)
        .await
        .unwrap()
        .unwrap();
    ended.session = SessionState::Ended;
    ended.control = Control::Agent;
    ended.assignee = Some("agent-1".into());
    ended.revision += 1;
    h.store.update_conversation(&ended).await.unwrap();

    let again = json!({"client_message_id": "m2", "type": "text", "text": "one more thing"});
    let (status, body) = h
        .call(Method::POST, &messages, Role::EndUser, again.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["message"]["session_no"], 2);
    assert_ne!(body["message"]["ticket_id"], created["ticket_id"]);
    let (_, view) = h
        .call(
            Method::GET,
            &format!("/v1/conversations/{cid}"),
            Role::EndUser,
            json!({}),
        )
        .await;
    assert_eq!(view["session"], "active");
    assert_eq!(view["control"], "bot");
    assert_eq!(view["assignee"], Value::Null);
    assert_eq!(view["ticket_status"], "new");

    // A retry of that message does not start yet another session.
    let (status, _) = h.call(Method::POST, &messages, Role::EndUser, again).await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = h
        .call(
            Method::GET,
            &format!("/v1/conversations/{cid}"),
            Role::EndUser,
            json!({}),
        )
        .await;
    assert_eq!(view["session_no"], 2);
    // Same persistent history: both sessions' messages, in order.
    let (_, history) = h
        .call(Method::GET, &messages, Role::EndUser, json!({}))
        .await;
    let sessions: Vec<u64> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["session_no"].as_u64().unwrap())
        .collect();
    assert_eq!(sessions, vec![1, 2]);
}
