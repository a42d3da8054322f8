//! Webhooks (#17 item 4, R29), on the emulator with the fan-out reading the table's stream and
//! the deliver-webhook consumer running in process, against a real HTTP receiver on
//! 127.0.0.1 started by each test: every event type arrives signed and verifiable, failures
//! are retried with the same event id and logged, a receiver that never answers ends
//! dead-lettered and listed as failed, and the SSRF guard refuses what it must.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::model::{Priority, Role};
use hmac::{Hmac, KeyInit, Mac};
use integration_tests::agents::{accept, agent, offered_to, waiting};
use integration_tests::{json, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use use_cases::ports::WebhookSender;

/// What the receiver got: headers (lower-case names) and body.
#[derive(Debug, Clone)]
pub(super) struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON delivery")
    }
}

/// How the receiver answers: a status, or never (holds the connection open).
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    Status(u16),
    Never,
}

/// An HTTP receiver on 127.0.0.1 that records every request and answers from a script
/// (then `otherwise`).
pub(super) struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(super) async fn start(script: Vec<Answer>, otherwise: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(request);
                    let answer = script.lock().unwrap().pop_front().unwrap_or(otherwise);
                    match answer {
                        Answer::Status(status) => {
                            let reply = format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            );
                            let _ = socket.write_all(reply.as_bytes()).await;
                        }
                        Answer::Never => {
                            tokio::time::sleep(Duration::from_secs(600)).await;
                        }
                    }
                });
            }
        });
        Receiver { address, received }
    }

    pub(super) fn url(&self) -> String {
        format!("http://{}/hooks/relay", self.address)
    }

    pub(super) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (or `wait` passed); answers what arrived.
    async fn wait_for(&self, count: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = self.received();
            if got.len() >= count || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    Some(Received { headers, body })
}

/// Whether `Relay-Signature` verifies with `secret`, as a receiver would check it.
fn verifies(received: &Received, secret: &str) -> bool {
    let Some(header) = received.header("relay-signature") else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_string()),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let Ok(signature) = hex::decode(v1) else {
        return false;
    };
    let fresh = t
        .parse::<i64>()
        .is_ok_and(|t| (domain::now_ms() / 1000 - t).abs() < 300);
    fresh && mac.verify_slice(&signature).is_ok()
}

pub(super) async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let reply = app
        .post(
            "/v1/webhooks",
            &app.token(Role::Admin, "admin-1"),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    (
        reply.body["id"].as_str().unwrap().to_string(),
        reply.body["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/v1/webhooks/{id}/deliveries"),
            &app.token(Role::Admin, "admin-1"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["deliveries"].as_array().unwrap().clone()
}

/// The delivery log once it holds `count` attempts (or after `wait`).
async fn deliveries_when(app: &TestApp, id: &str, count: usize, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let log = deliveries(app, id).await;
        if log.len() >= count || tokio::time::Instant::now() >= deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_event_type_arrives_signed_and_verifiable() {
    let app = TestApp::start_live().await;
    let receiver = Receiver::start(vec![], Answer::Status(204)).await;
    let (_, secret) = subscribe(
        &app,
        &receiver.url(),
        &[
            "message.created",
            "conversation.handoff",
            "session.ended",
            "ticket.closed",
            "csat.submitted",
        ],
    )
    .await;
    let admin = app.token(Role::Admin, "admin-1");
    app.patch_settings(&admin, json!({"messaging": {"csat_on_session_end": true}}))
        .await;
    agent(&app, "ag-1", 2, &[], "online").await;
    // A conversation handed off (the helper posts a first message), accepted, answered,
    // ended, rated and solved.
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-1"));
    assert_eq!(accept(&app, "ag-1", &cid).await.status, StatusCode::OK);
    let agent_token = app.token(Role::Agent, "ag-1");
    app.send_text(&cid, &agent_token, "a1", "How can I help?")
        .await;
    let note = app
        .post(
            &format!("/v1/conversations/{cid}/messages"),
            &agent_token,
            json!({"client_message_id": "n1", "type": "internal_note", "text": "private"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    app.post(
        &format!("/v1/conversations/{cid}/end"),
        &agent_token,
        json!({}),
    )
    .await;
    // The survey arrives as a message (a message.created delivery too) before it can be rated.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = app
            .post(
                &format!("/v1/conversations/{cid}/csat"),
                &app.token(Role::EndUser, "eu-1"),
                json!({"score": 5}),
            )
            .await;
        if reply.status == StatusCode::CREATED {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", reply.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.post(
        &format!("/v1/conversations/{cid}/close"),
        &agent_token,
        json!({}),
    )
    .await;

    let wanted = [
        "message.created",
        "conversation.handoff",
        "session.ended",
        "ticket.closed",
        "csat.submitted",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let got = loop {
        let got = receiver.received();
        let types: Vec<String> = got
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
            .collect();
        if wanted.iter().all(|w| types.iter().any(|t| t == w))
            || tokio::time::Instant::now() >= deadline
        {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for kind in wanted {
        let delivery = got
            .iter()
            .find(|r| r.json()["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} delivery among {got:?}"));
        assert!(verifies(delivery, &secret), "{kind} does not verify");
        assert!(
            !verifies(delivery, "whsec_wrong"),
            "{kind} verifies with any secret"
        );
        let event = delivery.json();
        assert_eq!(event["account_id"], app.account.id);
        assert_eq!(delivery.header("relay-event-id"), event["id"].as_str());
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    }
    // The internal note was never delivered.
    assert!(got.iter().all(|r| !r.body.contains("private")), "{got:?}");
    let rated = got
        .iter()
        .find(|r| r.json()["type"] == "csat.submitted")
        .unwrap();
    assert_eq!(rated.json()["data"]["score"], 5);
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_same_event_four_times() {
    let app = TestApp::start_live().await;
    // With the bot off, one message is one event (the script answers it alone).
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    let receiver = Receiver::start(
        vec![
            Answer::Status(500),
            Answer::Status(500),
            Answer::Status(503),
        ],
        Answer::Status(200),
    )
    .await;
    let (id, secret) = subscribe(&app, &receiver.url(), &["message.created"]).await;
    let cid = app.new_conversation("eu-1").await;
    app.send_text(&cid, &app.token(Role::EndUser, "eu-1"), "m1", "hello")
        .await;
    let got = receiver.wait_for(4, Duration::from_secs(30)).await;
    let first_id = got[0].json()["id"].clone();
    let same: Vec<&Received> = got.iter().filter(|r| r.json()["id"] == first_id).collect();
    assert_eq!(same.len(), 4, "{got:?}");
    assert!(same.iter().all(|r| verifies(r, &secret)));
    let log = deliveries_when(&app, &id, 4, Duration::from_secs(10)).await;
    let ours: Vec<&Value> = log.iter().filter(|d| d["event_id"] == first_id).collect();
    let attempts: Vec<(u64, &str)> = ours
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap(),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (4, "delivered"),
            (3, "retrying"),
            (2, "retrying"),
            (1, "retrying")
        ],
        "{log:?}"
    );
    assert_eq!(ours[3]["status_code"], 500);
    assert_eq!(ours[0]["status_code"], 200);
}

/// The dead-letter queue of a queue, from its redrive policy.
async fn dead_letter_url(queue_url: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    let policy: Value = serde_json::from_str(
        attributes
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .expect("a redrive policy"),
    )
    .unwrap();
    let name = policy["deadLetterTargetArn"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

#[tokio::test]
async fn a_receiver_that_never_answers_ends_dead_lettered_and_listed_as_failed() {
    let app = TestApp::start_live().await;
    // With the bot off, one message is one event.
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    let receiver = Receiver::start(vec![], Answer::Never).await;
    let (id, _) = subscribe(&app, &receiver.url(), &["message.created"]).await;
    let cid = app.new_conversation("eu-1").await;
    app.send_text(&cid, &app.token(Role::EndUser, "eu-1"), "m1", "anyone?")
        .await;
    let attempts = domain::webhooks::MAX_ATTEMPTS as usize;
    // Each attempt times out after 2 s (the tests' timeout) and waits at most 1 s.
    let log = deliveries_when(&app, &id, attempts, Duration::from_secs(90)).await;
    assert_eq!(log.len(), attempts, "{log:?}");
    assert_eq!(log[0]["outcome"], "failed");
    assert_eq!(log[0]["attempt"], attempts);
    assert!(log[1..].iter().all(|d| d["outcome"] == "retrying"));
    assert!(log.iter().all(|d| d["error"] == "timed out"), "{log:?}");
    assert_eq!(receiver.received().len(), attempts);
    // The queue dead-letters the job after its last attempt.
    let queue_url = app.config.as_ref().unwrap().webhook_queue_url.clone();
    let dead = dead_letter_url(&queue_url).await;
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let body = loop {
        let received = sqs
            .receive_message()
            .queue_url(&dead)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(message) = received.into_iter().next() {
            break message.body.unwrap_or_default();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["subscription_id"], id);
    assert_eq!(job["event"]["id"], log[0]["event_id"]);
}

#[tokio::test]
async fn only_https_to_public_addresses_can_be_subscribed_and_reached() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    // Even with the loopback flag on (as in these tests), nothing else that is not public.
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "https://169.254.169.254/",
        "http://10.0.0.1/",
        "https://10.0.0.1/",
        "https://[fd00::1]/",
        "https://localhost/hook",
        "ftp://hooks.example.com/",
    ] {
        let reply = app
            .post(
                "/v1/webhooks",
                &admin,
                json!({"url": url, "events": ["message.created"]}),
            )
            .await;
        assert_eq!(
            reply.error_code(),
            "invalid_field",
            "{url}: {:?}",
            reply.body
        );
    }
    assert!(app.get("/v1/webhooks", &admin).await.body["webhooks"]
        .as_array()
        .unwrap()
        .is_empty());

    // With the flag off (AWS), loopback is refused too, before any connection.
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    let on_aws =
        adapters::webhook_http::HttpWebhookSender::new(false, Duration::from_secs(2)).unwrap();
    for url in [
        receiver.url(),
        format!("http://[::1]:{}/", receiver.address.port()),
        "http://169.254.169.254/".to_string(),
        "http://10.0.0.1/".to_string(),
    ] {
        assert!(on_aws.post(&url, "{}", &[]).await.is_err(), "{url}");
    }
    // A name that resolves to a private address is refused after resolution.
    let lookup: adapters::webhook_http::Lookup = Arc::new(|host, port| {
        Box::pin(async move {
            assert_eq!(host, "hooks.internal.test");
            Ok(vec![SocketAddr::from(([10, 0, 0, 5], port))])
        })
    });
    let resolving = adapters::webhook_http::HttpWebhookSender::with_lookup(
        false,
        Duration::from_secs(2),
        lookup,
    )
    .unwrap();
    let refused = resolving
        .post("https://hooks.internal.test/relay", "{}", &[])
        .await
        .unwrap_err();
    assert!(refused.contains("non-public"), "{refused}");
    assert!(receiver.received().is_empty());

    // A redirect (to the metadata address) is not followed: it is the receiver's answer.
    let redirecting = Receiver::start(vec![Answer::Status(302)], Answer::Status(302)).await;
    let local =
        adapters::webhook_http::HttpWebhookSender::new(true, Duration::from_secs(2)).unwrap();
    assert_eq!(local.post(&redirecting.url(), "{}", &[]).await, Ok(302));
    assert_eq!(redirecting.received().len(), 1);
}

#[tokio::test]
async fn webhooks_keys_manage_subscriptions_and_nothing_else_does() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let key = |scopes: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let reply = app
                .post(
                    "/v1/integrations",
                    &admin,
                    json!({"name": "k", "scopes": scopes}),
                )
                .await;
            reply.body["key"].as_str().unwrap().to_string()
        }
    };
    let (webhooks_key, bot_key) = (key(json!(["webhooks"])).await, key(json!(["bot"])).await);
    let body = json!({"url": "https://hooks.example.com/relay", "events": ["session.ended"]});
    let created = app.post("/v1/webhooks", &webhooks_key, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(created.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post("/v1/webhooks", &bot_key, body.clone())
            .await
            .error_code(),
        "insufficient_scope"
    );
    assert_eq!(
        app.post("/v1/webhooks", &app.token(Role::Agent, "ag-1"), body)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let listed = app.get("/v1/webhooks", &admin).await;
    assert_eq!(listed.body["webhooks"][0]["id"], id);
    assert!(
        !listed.body.to_string().contains("whsec_"),
        "{:?}",
        listed.body
    );
    // Another account sees none of it.
    let foreign_admin = app.other_account.token(Role::Admin, "admin-2");
    let foreign = app
        .get(&format!("/v1/webhooks/{id}/deliveries"), &foreign_admin)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let deleted = app
        .send_raw(
            Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            Some(&webhooks_key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(app.get("/v1/webhooks", &admin).await.body["webhooks"]
        .as_array()
        .unwrap()
        .is_empty());
}
