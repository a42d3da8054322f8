//! R31 on the deployed path: the `fan-out` function fed a DynamoDB Streams event whose middle
//! record's webhook reaction fails every time, then its reactions queue's SQS event, on the
//! emulator (frames caught in memory). On the main of #32 the poison change failed the batch
//! at its sequence number: nothing after it was pushed and the whole change, frames and every
//! side effect, was retried until Lambda dropped it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters::sqs::SqsQueue;
use domain::model::Role;
use domain::realtime::{Stored, StoredChange};
use integration_tests::faults::{Fault, FaultProxy};
use integration_tests::live::{frame, stored_message_image, stream_record, with_sockets};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::ports::{Queue, ReceivedMessage};
use use_cases::stream_reactions::{Reaction, ReactionJob};
use use_cases::StoreError;

const SEND_MESSAGE_BATCH: &str = "AmazonSQS.SendMessageBatch";

/// A webhook queue that refuses every job about the message `poison` while `poisoned`, and
/// keeps the bodies of the jobs it took.
#[derive(Default)]
struct PoisonedQueue {
    poisoned: AtomicBool,
    sent: Mutex<Vec<String>>,
}

impl PoisonedQueue {
    fn sent_about(&self, text: &str) -> usize {
        let needle = format!("\"text\":\"{text}\"");
        let sent = self.sent.lock().unwrap();
        sent.iter().filter(|body| body.contains(&needle)).count()
    }
}

#[async_trait::async_trait]
impl Queue for PoisonedQueue {
    async fn send(&self, body: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        if self.poisoned.load(Ordering::SeqCst) && body.contains("\"text\":\"poison\"") {
            return Err(StoreError::Unavailable(
                "the receiver's queue refuses it".into(),
            ));
        }
        self.sent.lock().unwrap().push(body.to_string());
        Ok(())
    }
    async fn receive(&self, _max: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        Ok(Vec::new())
    }
    async fn acknowledge(&self, _receipt: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn retry_after(&self, _receipt: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The image of the newest message of `cid`, left to the stream (as if its writer had not
/// pushed it).
async fn left_to_the_stream(app: &TestApp, cid: &str) -> Value {
    let mut image = stored_message_image(app, cid).await;
    image.as_object_mut().unwrap().remove("direct_push_seq");
    image
}

/// The jobs the reactions queue holds (waiting up to 10 s for the first to be visible):
/// (message id, receipt, body, receive count).
async fn reaction_jobs(queue_url: &str) -> Vec<(String, String, String, u32)> {
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(5)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .expect("receive from the reactions queue");
        let jobs: Vec<_> = received
            .messages()
            .iter()
            .map(|m| {
                let count = m
                    .attributes()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                (
                    m.message_id().unwrap_or_default().to_string(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                    m.body().unwrap_or_default().to_string(),
                    count,
                )
            })
            .collect();
        if !jobs.is_empty() || Instant::now() > deadline {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An app whose account subscribes a webhook to `message.created`.
async fn app_with_a_webhook() -> TestApp {
    let app = TestApp::start().await;
    let hook = app
        .post(
            "/v1/webhooks",
            &app.token(Role::Admin, "admin-1"),
            json!({"url": "https://hooks.example.com/relay", "events": ["message.created"]}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{:?}", hook.body);
    app
}

/// Records connection `connection_id` of end user `eu-1` (as `$connect` would).
async fn connect_end_user(
    app: &TestApp,
    backend: &use_cases::backend::Backend,
    connection_id: &str,
) {
    let listener = domain::realtime::Listener {
        account_id: app.account.id.clone(),
        user_id: "eu-1".into(),
        role: Role::EndUser,
    };
    let limits = &backend.limits;
    use_cases::realtime::connect(
        backend.store.as_ref(),
        listener,
        connection_id,
        domain::now_ms(),
        limits,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_poison_change_holds_back_neither_its_neighbours_nor_its_other_reactions() {
    let app = app_with_a_webhook().await;
    let cid = app.new_conversation("eu-1").await;
    let end_user = app.token(Role::EndUser, "eu-1");
    let mut images = Vec::new();
    for (n, text) in ["hello", "poison", "after"].iter().enumerate() {
        let reply = app.send_text(&cid, &end_user, &format!("c{n}"), text).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        images.push(left_to_the_stream(&app, &cid).await);
    }

    let connection_id = domain::ids::new_id("ws");
    let (mut backend, mut receivers) = with_sockets(&app, &[&connection_id]);
    let webhooks = Arc::new(PoisonedQueue::default());
    webhooks.poisoned.store(true, Ordering::SeqCst);
    backend.webhook_queue = webhooks.clone();
    // A reactions queue of the test's own: the app's gateway consumes the app's.
    let queue_url = integration_tests::fresh_queue_url().await;
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    backend.reactions_queue = Arc::new(SqsQueue::new(sqs, &queue_url));
    connect_end_user(&app, &backend, &connection_id).await;

    let event = json!({"Records": [
        stream_record("100", None, Some(&images[0])),
        stream_record("200", None, Some(&images[1])),
        stream_record("300", None, Some(&images[2])),
    ]});
    let answer = fan_out::handle_event(&backend, event).await.unwrap();
    // Nothing for Lambda to retry: the batch is done.
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    // Every change's frame reached its reader at once, the poison's too, in order.
    for text in ["hello", "poison", "after"] {
        let pushed = frame(receivers[0].recv().await);
        assert_eq!(pushed["type"], "message.created", "{pushed}");
        assert_eq!(pushed["data"]["message"]["text"], text, "{pushed}");
    }
    // The neighbours' webhook jobs were queued; the poison's was not.
    assert_eq!(webhooks.sent_about("hello"), 1);
    assert_eq!(webhooks.sent_about("after"), 1);
    assert_eq!(webhooks.sent_about("poison"), 0);

    // The poison's failed reaction waits on the reactions queue, alone.
    let jobs = reaction_jobs(&queue_url).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job: ReactionJob = serde_json::from_str(&jobs[0].2).expect("a reaction job");
    assert_eq!(job.reaction, Reaction::Webhooks);
    match &job.change {
        StoredChange {
            after: Some(Stored::Message(m)),
            ..
        } => assert_eq!(m.text.as_deref(), Some("poison")),
        other => panic!("the poison's change, got {other:?}"),
    }

    // Its retry, through the function's SQS entry, fails again while the cause lasts: the job
    // is reported and stays (the queue dead-letters it after its fifth receive).
    let retry = fan_out::handle_event(&backend, integration_tests::sqs_event(&jobs))
        .await
        .unwrap();
    assert_eq!(
        retry["batchItemFailures"],
        json!([{"itemIdentifier": jobs[0].0}]),
        "{retry}"
    );
    // Once the cause is gone, the replay completes the reaction once, and only that reaction:
    // no frame is pushed again and the neighbours' jobs are not queued twice.
    webhooks.poisoned.store(false, Ordering::SeqCst);
    let replay = fan_out::handle_event(&backend, integration_tests::sqs_event(&jobs))
        .await
        .unwrap();
    assert_eq!(replay["batchItemFailures"], json!([]), "{replay}");
    assert_eq!(webhooks.sent_about("poison"), 1);
    assert_eq!(webhooks.sent_about("hello"), 1);
    assert_eq!(webhooks.sent_about("after"), 1);
    assert!(receivers[0].try_recv().is_err(), "no frame is pushed twice");
}

/// A reactions queue whose sends fail: the fan-out cannot even queue a retry.
#[derive(Default)]
struct RefusingQueue {
    sends: AtomicUsize,
}

#[async_trait::async_trait]
impl Queue for RefusingQueue {
    async fn send(&self, _body: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Unavailable("SQS is down".into()))
    }
    async fn receive(&self, _max: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        Ok(Vec::new())
    }
    async fn acknowledge(&self, _receipt: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn retry_after(&self, _receipt: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The local gateway's feed retries a change that fails as a whole as Lambda does, a bounded
/// number of times, then gives it up and goes on with the next (it retried without end).
#[tokio::test]
async fn the_local_feed_gives_a_change_up_after_its_retries_and_goes_on() {
    let app = app_with_a_webhook().await;
    let cid = app.new_conversation("eu-1").await;
    let end_user = app.token(Role::EndUser, "eu-1");
    let mut changes = Vec::new();
    for (n, text) in ["poison", "after"].iter().enumerate() {
        let reply = app.send_text(&cid, &end_user, &format!("c{n}"), text).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let message = app.stored_messages(&cid).await.pop().expect("stored");
        changes.push(StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(message))),
        });
    }
    let mut backend = app.backend.clone();
    let webhooks = Arc::new(PoisonedQueue::default());
    webhooks.poisoned.store(true, Ordering::SeqCst);
    backend.webhook_queue = webhooks.clone();
    let reactions = Arc::new(RefusingQueue::default());
    backend.reactions_queue = reactions.clone();

    let given_up =
        local_gateway::realtime::fan_out_with_retries(&backend, changes, Duration::ZERO).await;
    assert_eq!(given_up, 1);
    // Tried as often as the event source mapping would (each attempt's retry job refused),
    // then once more to queue all of its reactions, and the next change went through.
    let attempts = local_gateway::realtime::FAN_OUT_ATTEMPTS as usize;
    assert_eq!(reactions.sends.load(Ordering::SeqCst), attempts + 1);
    assert_eq!(webhooks.sent_about("after"), 1);
}

/// The bodies waiting in the queue at `url` (read straight from the emulator).
async fn bodies_in(url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(30)
        .send()
        .await
        .expect("receive");
    received
        .messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect()
}

/// One reaction's calls fail through the fault proxy (the webhook queue's `SendMessageBatch`,
/// every attempt of the SDK throttled): the change's frame and its other reactions are not
/// held back, only that reaction waits on the reactions queue, and its retry completes it
/// once the calls go through again.
#[tokio::test]
async fn a_reaction_whose_calls_fail_through_the_fault_proxy_is_retried_alone() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 0).await;
    let app = app_with_a_webhook().await;
    let cid = app.new_conversation("eu-1").await;
    let reply = app
        .send_text(&cid, &app.token(Role::EndUser, "eu-1"), "c1", "hello")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let image = left_to_the_stream(&app, &cid).await;

    let connection_id = domain::ids::new_id("ws");
    let (mut backend, mut receivers) = with_sockets(&app, &[&connection_id]);
    // Only the webhook queue's calls go through the proxy.
    let (webhook_url, _) = integration_tests::fresh_webhook_queue_urls().await;
    let proxied = aws_sdk_sqs::Client::new(&integration_tests::config_at(&proxy.url).await);
    backend.webhook_queue = Arc::new(SqsQueue::new(proxied, &webhook_url));
    let reactions_url = integration_tests::fresh_queue_url().await;
    let direct = aws_sdk_sqs::Client::new(&integration_tests::emulator_config().await);
    backend.reactions_queue = Arc::new(SqsQueue::new(direct, &reactions_url));
    connect_end_user(&app, &backend, &connection_id).await;

    proxy.fail_next(SEND_MESSAGE_BATCH, Fault::Throttle, u32::MAX);
    let event = json!({"Records": [stream_record("100", None, Some(&image))]});
    let answer = fan_out::handle_event(&backend, event).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let pushed = frame(receivers[0].recv().await);
    assert_eq!(pushed["data"]["message"]["text"], "hello", "{pushed}");
    assert!(proxy.counts().faults() > 0, "the proxy failed no call");
    // Only the webhook reaction waits: every other one completed.
    let jobs = reaction_jobs(&reactions_url).await;
    let reactions: Vec<Reaction> = jobs
        .iter()
        .map(|(_, _, body, _)| serde_json::from_str::<ReactionJob>(body).unwrap().reaction)
        .collect();
    assert_eq!(reactions, vec![Reaction::Webhooks]);
    assert!(bodies_in(&webhook_url).await.is_empty());

    // Still failing: the retry is reported, and stays queued.
    let retry = fan_out::handle_event(&backend, integration_tests::sqs_event(&jobs))
        .await
        .unwrap();
    assert_eq!(
        retry["batchItemFailures"][0]["itemIdentifier"],
        jobs[0].0.as_str()
    );
    // The calls go through again: the retry queues the event's webhook job, once.
    proxy.fail_next(SEND_MESSAGE_BATCH, Fault::Throttle, 0);
    let retry = fan_out::handle_event(&backend, integration_tests::sqs_event(&jobs))
        .await
        .unwrap();
    assert_eq!(retry["batchItemFailures"], json!([]), "{retry}");
    let delivered = bodies_in(&webhook_url).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(delivered[0].contains("\"text\":\"hello\""), "{delivered:?}");
    assert!(receivers[0].try_recv().is_err(), "no frame is pushed twice");
}

/// #32 item 4: a purge larger than one invocation finishes in follow-up jobs. A conversation
/// of 60,001 items, 30,000 messages with their idempotency records (in memory: writing that many to the emulator takes minutes; the
/// DynamoDB adapter's budget is the store contract's `purge…` case) whose TTL removal reaches
/// the fan-out: each invocation deletes at most `PURGE_SLICE` items and queues the rest, and
/// the reactions queue's jobs finish it. On the main of #32 one invocation tried all of it.
#[tokio::test]
async fn a_purge_of_sixty_thousand_items_finishes_across_invocations() {
    use domain::retention::PURGE_SLICE;
    let backend = adapters::wiring::in_memory();
    let store = backend.store.clone();
    let account = use_cases::contract::fresh_account();
    let mut conversation = use_cases::contract::conversation(&account, "eu-1", 1_000);
    store.create_conversation(&conversation).await.unwrap();
    for n in 0..30_000 {
        let message = use_cases::contract::message(&conversation, "eu-1", &format!("c{n}"), "hi");
        store.append_message(&message).await.unwrap();
    }
    conversation.session = domain::model::SessionState::Ended;
    conversation.expires_at = Some(2);
    // The table's TTL removed the conversation at rest, as the stream reports it.
    let removal = StoredChange {
        before: Some(Stored::Conversation(Box::new(conversation.clone()))),
        after: None,
    };
    let report = use_cases::stream_reactions::fan_out(&backend, &[removal], 10_000)
        .await
        .unwrap();
    assert_eq!((report.changes, report.retried), (1, 0), "{report:?}");
    let left = |store: Arc<dyn use_cases::ports::Store>| {
        let (account, id) = (account.clone(), conversation.id.clone());
        async move {
            store
                .list_messages(&account, &id, 0, 100_000)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(left(store.clone()).await, 30_000 - PURGE_SLICE);

    let mut invocations = 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let batch = backend.reactions_queue.receive(10).await.unwrap();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let before = left(store.clone()).await;
        let failed = use_cases::stream_reactions::retry_batch(&backend, &batch, 10_000).await;
        assert!(failed.is_empty(), "{failed:?}");
        for message in &batch {
            backend
                .reactions_queue
                .acknowledge(&message.receipt)
                .await
                .unwrap();
        }
        assert!(before - left(store.clone()).await <= PURGE_SLICE);
        invocations += 1;
        if store
            .get_conversation(&account, &conversation.id)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
    }
    assert_eq!(left(store.clone()).await, 0);
    // 30,000 messages, their 30,000 idempotency records and the conversation item.
    assert_eq!(invocations, 60_001usize.div_ceil(PURGE_SLICE));
    assert_eq!(
        store
            .get_conversation(&account, &conversation.id)
            .await
            .unwrap(),
        None
    );
}

/// An event the function cannot read is an invocation error, so that Lambda retries it (a
/// stream batch, then its on-failure destination; a queue batch, then its dead-letter queue),
/// never a success that drops it. A readable empty batch is the positive control.
#[tokio::test]
async fn an_event_the_function_cannot_read_is_retried_not_dropped() {
    let backend = adapters::wiring::in_memory();
    let unreadable = [
        json!({"Records": [{"eventSource": "aws:sqs", "messageId": 5, "body": []}]}),
        json!({"Records": [{"eventSource": "aws:dynamodb", "dynamodb": "not a record"}]}),
        json!({"Records": "not a list"}),
    ];
    for event in unreadable {
        let answer = fan_out::handle_event(&backend, event.clone()).await;
        assert!(answer.is_err(), "{event} was dropped: {answer:?}");
    }
    let empty = fan_out::handle_event(&backend, json!({"Records": []})).await;
    assert_eq!(empty.unwrap(), json!({"batchItemFailures": []}));
}
