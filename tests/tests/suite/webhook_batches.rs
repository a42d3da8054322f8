//! Webhook batches inside their deadline (#32 item 6), on the emulator: the jobs of one SQS
//! batch are delivered at once, so a receiver that stalls costs its own job its attempt and
//! nobody else's. On the main of #32 they went one after another: a batch with a stalled
//! receiver first took the stall's whole length before the next subscription was even tried.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use shared::model::Role;
use shared::ports::{ReceivedMessage, WebhookSender};
use shared::webhook_delivery::{deliver_batch, DeliveryJob, RetryPolicy};

/// A sender whose `slow` receiver takes `stall` to answer; every other answers 204 at once.
/// Records when each receiver was answered.
struct Receivers {
    slow: String,
    stall: Duration,
    started: Instant,
    answered: Mutex<Vec<(String, Duration)>>,
}

#[async_trait::async_trait]
impl WebhookSender for Receivers {
    async fn post(
        &self,
        url: &str,
        _body: &str,
        _headers: &[(&'static str, String)],
    ) -> Result<u16, String> {
        if url == self.slow {
            tokio::time::sleep(self.stall).await;
        }
        if let Ok(mut answered) = self.answered.lock() {
            answered.push((url.to_string(), self.started.elapsed()));
        }
        Ok(204)
    }
}

async fn subscription(app: &TestApp, url: &str) -> String {
    let reply = app
        .post(
            "/v1/webhooks",
            &app.token(Role::Admin, "admin-1"),
            json!({"url": url, "events": ["message.created"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_stalled_receiver_costs_no_other_subscription_its_delivery() {
    let app = TestApp::start().await;
    let (slow_url, fast_url) = (
        "https://slow.example.com/hook",
        "https://fast.example.com/hook",
    );
    let slow = subscription(&app, slow_url).await;
    let fast = subscription(&app, fast_url).await;
    let event = |n: u32| {
        serde_json::from_value(json!({
            "id": format!("evt_{n}"), "type": "message.created", "account_id": app.account.id,
            "created_at": "2026-12-06T00:00:00.000Z", "data": {"n": n}}))
        .expect("an event")
    };
    // The stalled receiver's job first, as the queue may hand them over.
    let jobs = [(&slow, 1), (&fast, 2), (&fast, 3)];
    let batch: Vec<ReceivedMessage> = jobs
        .iter()
        .map(|(subscription_id, n)| ReceivedMessage {
            message_id: format!("m{n}"),
            receipt: format!("r{n}"),
            body: serde_json::to_string(&DeliveryJob {
                account_id: app.account.id.clone(),
                subscription_id: subscription_id.to_string(),
                event: event(*n),
            })
            .expect("a job"),
            receive_count: 1,
        })
        .collect();
    let receivers = Receivers {
        slow: slow_url.into(),
        stall: Duration::from_secs(3),
        started: Instant::now(),
        answered: Mutex::new(Vec::new()),
    };
    let failed = deliver_batch(
        app.backend.store.as_ref(),
        app.backend.webhook_queue.as_ref(),
        &receivers,
        &batch,
        RetryPolicy::default(),
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let answered = receivers.answered.lock().unwrap().clone();
    assert_eq!(answered.len(), 3, "{answered:?}");
    for (url, at) in &answered {
        if url == fast_url {
            assert!(
                *at < Duration::from_secs(2),
                "the fast receiver waited {at:?} for the slow one"
            );
        } else {
            assert!(*at >= Duration::from_secs(3), "{at:?}");
        }
    }
    // Every delivery is in its subscription's log.
    for (id, count) in [(&slow, 1), (&fast, 2)] {
        let log = app
            .get(
                &format!("/v1/webhooks/{id}/deliveries"),
                &app.token(Role::Admin, "admin-1"),
            )
            .await;
        assert_eq!(
            log.body["deliveries"].as_array().map(Vec::len),
            Some(count),
            "{:?}",
            log.body
        );
    }
}
