//! Webhook batches inside their deadline (#32 item 6), on the emulator: the jobs of one SQS
//! batch are delivered at once, so a receiver that stalls costs its own job its attempt and
//! nobody else's. On the main of #32 they went one after another: a batch with a stalled
//! receiver first took the stall's whole length before the next subscription was even tried.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use use_cases::ports::{ReceivedMessage, WebhookSender};
use use_cases::webhook_delivery::{deliver_batch, DeliveryJob, RetryPolicy};

/// A sender whose `slow` receiver takes `stall` to answer; every other answers 204 at once,
/// but `failing`, which answers 500. Records when each receiver was answered.
struct Receivers {
    slow: String,
    stall: Duration,
    started: Instant,
    answered: Mutex<Vec<(String, Duration)>>,
    failing: Option<String>,
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
        if self.failing.as_deref() == Some(url) {
            return Ok(500);
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
        failing: None,
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

/// The jobs of `(subscription, n)` as one SQS batch, each at its first receive.
fn batch_of(app: &TestApp, jobs: &[(&str, u32)]) -> Vec<ReceivedMessage> {
    jobs.iter()
        .map(|(subscription_id, n)| {
            let event = serde_json::from_value(json!({
                "id": format!("evt_{n}"), "type": "message.created", "account_id": app.account.id,
                "created_at": "2026-12-06T00:00:00.000Z", "data": {"n": n}}))
            .expect("an event");
            ReceivedMessage {
                message_id: format!("m{n}"),
                receipt: format!("r{n}"),
                body: serde_json::to_string(&DeliveryJob {
                    account_id: app.account.id.clone(),
                    subscription_id: subscription_id.to_string(),
                    event,
                })
                .expect("a job"),
                receive_count: 1,
            }
        })
        .collect()
}

/// #32 item 6: one subscription holds one job in flight at a time within a batch (its jobs go
/// one after another) while other subscriptions go at once. On the main of #32 the slow
/// receiver got both of its jobs at the same moment.
#[tokio::test]
async fn a_subscription_holds_one_job_in_flight_while_the_others_go_at_once() {
    let app = TestApp::start().await;
    let (slow_url, fast_url) = ("https://slow.example.com/a", "https://fast.example.com/a");
    let slow = subscription(&app, slow_url).await;
    let fast = subscription(&app, fast_url).await;
    let batch = batch_of(&app, &[(&slow, 1), (&slow, 2), (&fast, 3)]);
    let receivers = Receivers {
        slow: slow_url.into(),
        stall: Duration::from_secs(1),
        started: Instant::now(),
        answered: Mutex::new(Vec::new()),
        failing: None,
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
    let at = |url: &str| -> Vec<Duration> {
        answered
            .iter()
            .filter(|(u, _)| u == url)
            .map(|(_, at)| *at)
            .collect()
    };
    assert!(at(fast_url)[0] < Duration::from_millis(900), "{answered:?}");
    let slow_answers = at(slow_url);
    assert_eq!(slow_answers.len(), 2, "{answered:?}");
    assert!(
        slow_answers[1] >= slow_answers[0] + Duration::from_millis(900),
        "the second job waited for the first: {answered:?}"
    );
}

/// #32 item 6: after 20 failed attempts in a row a subscription is paused for 5 minutes: the
/// delivery log says so, and its next job waits without reaching the receiver.
#[tokio::test]
async fn a_run_of_failed_attempts_pauses_the_subscription_and_its_log_says_so() {
    let app = TestApp::start().await;
    let failing_url = "https://down.example.com/hook";
    let down = subscription(&app, failing_url).await;
    let receivers = Receivers {
        slow: String::new(),
        stall: Duration::ZERO,
        started: Instant::now(),
        answered: Mutex::new(Vec::new()),
        failing: Some(failing_url.into()),
    };
    let queue = adapters::memory::MemoryQueue::new(Duration::from_secs(30), 8);
    let attempt = |n: u32| {
        let batch = batch_of(&app, &[(&down, n)]);
        let receivers = &receivers;
        let queue = &queue;
        let store = app.backend.store.clone();
        async move {
            deliver_batch(
                store.as_ref(),
                queue,
                receivers,
                &batch,
                RetryPolicy::default(),
            )
            .await
        }
    };
    for n in 1..=domain::webhooks::PAUSE_AFTER_FAILED_ATTEMPTS {
        assert_eq!(attempt(n).await, vec![format!("m{n}")]);
    }
    let posts = receivers.answered.lock().unwrap().len();
    assert_eq!(posts, 20);
    let log = app
        .get(
            &format!("/v1/webhooks/{down}/deliveries?limit=50"),
            &app.token(Role::Admin, "admin-1"),
        )
        .await;
    let errors: Vec<String> = log.body["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|d| d["error"].as_str().map(str::to_string))
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("paused for 300 s")),
        "{:?}",
        log.body
    );
    // Paused: the next job waits, and the receiver is not called.
    assert_eq!(attempt(21).await, vec!["m21".to_string()]);
    assert_eq!(receivers.answered.lock().unwrap().len(), 20);
}
