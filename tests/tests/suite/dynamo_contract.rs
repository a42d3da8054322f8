//! The adapter contract suite against the DynamoDB, SQS, S3, DynamoDB Streams and API Gateway
//! management adapters on the emulator.

use std::sync::Arc;

use adapters::apigateway::ApiGatewayPush;
use adapters::dynamo::stream::DynamoStreamFeed;
use adapters::dynamo::DynamoStore;
use adapters::s3::S3Objects;
use adapters::sqs::SqsQueue;
use integration_tests::{emulator_config, fresh_queue_url, provisioned};
use use_cases::contract::{FeedUnderTest, ObjectsUnderTest, PushUnderTest, PutObject};
use use_cases::ports::{Queue, Store};

async fn dynamo_store() -> Arc<dyn Store> {
    let table = &provisioned().await.table_name;
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    Arc::new(DynamoStore::new(client, table))
}

async fn sqs_queue() -> Arc<dyn Queue> {
    provisioned().await;
    let url = fresh_queue_url().await;
    Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&emulator_config().await),
        url,
    ))
}

struct S3Put {
    client: aws_sdk_s3::Client,
    bucket: String,
}

#[async_trait::async_trait]
impl PutObject for S3Put {
    async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }
}

async fn s3_objects() -> ObjectsUnderTest {
    let bucket = provisioned().await.bucket_name.clone();
    let config = emulator_config().await;
    ObjectsUnderTest {
        objects: Arc::new(S3Objects::new(&config, &bucket)),
        put: Arc::new(S3Put {
            client: aws_sdk_s3::Client::new(&config),
            bucket,
        }),
    }
}

mod store {
    use super::*;
    use_cases::store_contract_tests!(dynamo_store());
}

mod queue {
    use super::*;
    use_cases::queue_contract_tests!(sqs_queue());
}

mod objects {
    use super::*;
    use_cases::object_store_contract_tests!(s3_objects());
}

async fn stream_feed() -> FeedUnderTest {
    let provisioned = provisioned().await;
    let config = emulator_config().await;
    let feed = DynamoStreamFeed::start(
        aws_sdk_dynamodbstreams::Client::new(&config),
        &provisioned.table_stream_arn,
    )
    .await
    .unwrap();
    FeedUnderTest {
        store: dynamo_store().await,
        feed: Arc::new(feed),
    }
}

mod change_feed {
    use super::*;
    use_cases::change_feed_contract_tests!(stream_feed());
}

/// The DynamoDB append writes the idempotency claim and the message as two puts; these are the
/// states a request that died between them leaves behind, and what its retry must make of them.
mod interrupted_appends {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use domain::model::{AppendOutcome, Conversation, Message};
    use use_cases::contract::{conversation, fresh_account, message};

    /// Writes only the claim of (author, client_message_id) for `seq`, as a request that died
    /// after its first put would.
    async fn leave_claim(m: &Message, seq: u64) {
        let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
        client
            .put_item()
            .table_name(&provisioned().await.table_name)
            .item(
                "pk",
                AttributeValue::S(format!("A#{}#C#{}", m.account_id, m.conversation_id)),
            )
            .item(
                "sk",
                AttributeValue::S(format!("I#{}#{}", m.client_message_id, m.author_id)),
            )
            .item("seq", AttributeValue::N(seq.to_string()))
            .send()
            .await
            .unwrap();
    }

    /// Every idempotency claim stored in `m`'s conversation: (sort key, claimed seq). Read
    /// from the table itself, so a claim left under a key the adapter does not use shows up
    /// as a second claim beside the adapter's own.
    async fn stored_claims(m: &Message) -> Vec<(String, u64)> {
        let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
        let output = client
            .query()
            .table_name(&provisioned().await.table_name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :claims)")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("A#{}#C#{}", m.account_id, m.conversation_id)),
            )
            .expression_attribute_values(":claims", AttributeValue::S("I#".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let sk = item["sk"].as_s().unwrap().clone();
                let seq = item["seq"].as_n().unwrap().parse().unwrap();
                (sk, seq)
            })
            .collect()
    }

    /// The one claim of `m`'s author and client id is the one a dead request left (so the
    /// retry completed it rather than claiming anew), and it names `seq`.
    async fn assert_claim_completed(m: &Message, seq: u64) {
        let prefix = format!("I#{}#", m.client_message_id);
        let claims: Vec<_> = stored_claims(m)
            .await
            .into_iter()
            .filter(|(sk, _)| sk.starts_with(&prefix))
            .collect();
        assert_eq!(
            claims,
            vec![(format!("I#{}#{}", m.client_message_id, m.author_id), seq)]
        );
    }

    /// The DynamoDB store and a fresh conversation of alice's in it.
    async fn store_with_conversation() -> (Arc<dyn Store>, Conversation) {
        let store = dynamo_store().await;
        let c = conversation(&fresh_account(), "alice", 1);
        store.create_conversation(&c).await.unwrap();
        (store, c)
    }

    async fn seqs_and_keys(store: &dyn Store, m: &Message) -> Vec<(u64, String)> {
        store
            .list_messages(&m.account_id, &m.conversation_id, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.client_message_id))
            .collect()
    }

    /// The conversation of `m` holds seqs 1..=`last` and `m`'s client id exactly once.
    async fn assert_gap_free_with_once(store: &dyn Store, m: &Message, last: u64) {
        let history = seqs_and_keys(store, m).await;
        assert_eq!(
            history.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            (1..=last).collect::<Vec<_>>()
        );
        let copies = history
            .iter()
            .filter(|(_, key)| *key == m.client_message_id)
            .count();
        assert_eq!(copies, 1, "{} stored {copies} times", m.client_message_id);
    }

    #[tokio::test]
    async fn retry_completes_a_claim_whose_message_was_never_written() {
        let (store, c) = store_with_conversation().await;
        let first = message(&c, "alice", "a", "one");
        store.append_message(&first).await.unwrap();
        let lost = message(&c, "alice", "lost", "two");
        leave_claim(&lost, 2).await;
        assert_eq!(
            store
                .find_message(&c.account_id, &c.id, "alice", "lost")
                .await
                .unwrap(),
            None,
            "a claim without its message is not a stored message"
        );

        let AppendOutcome::Created(stored) = store.append_message(&lost).await.unwrap() else {
            panic!("the retry must store the message");
        };
        assert_eq!(stored.seq, 2);
        assert!(matches!(
            store.append_message(&lost).await.unwrap(),
            AppendOutcome::Existing(m) if m.seq == 2
        ));
        assert_eq!(
            seqs_and_keys(store.as_ref(), &first).await,
            vec![(1, "a".to_string()), (2, "lost".to_string())]
        );
        assert_claim_completed(&lost, 2).await;
    }

    #[tokio::test]
    async fn stale_claim_overtaken_by_other_messages_moves_past_them_once() {
        let (store, c) = store_with_conversation().await;
        let late = message(&c, "alice", "late", "finally");
        leave_claim(&late, 1).await;
        // Other messages take seqs 1..=6 while the claim still says 1.
        for i in 0..6 {
            let other = message(&c, "agent-1", &format!("o{i}"), "busy");
            store.append_message(&other).await.unwrap();
        }

        let AppendOutcome::Created(stored) = store.append_message(&late).await.unwrap() else {
            panic!("the retry must store the message");
        };
        assert_eq!(stored.seq, 7);
        let replayed = store.append_message(&late).await.unwrap();
        assert!(matches!(replayed, AppendOutcome::Existing(m) if m.seq == 7));
        assert_gap_free_with_once(store.as_ref(), &late, 7).await;
        assert_claim_completed(&late, 7).await;
    }

    #[tokio::test]
    async fn racing_retries_of_an_interrupted_message_store_it_once() {
        let (store, c) = store_with_conversation().await;
        let lost = message(&c, "alice", "lost", "again");
        leave_claim(&lost, 1).await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            // Other authors' messages race with the retries for the same seqs.
            let other = message(&c, "agent-1", &format!("o{i}"), "busy");
            let retry = lost.clone();
            tasks.push(tokio::spawn(async move {
                store.append_message(&other).await.unwrap();
                store.append_message(&retry).await.unwrap()
            }));
        }
        let mut created = 0;
        for task in tasks {
            if matches!(task.await.unwrap(), AppendOutcome::Created(_)) {
                created += 1;
            }
        }
        assert_eq!(created, 1, "exactly one retry stores it");
        assert_gap_free_with_once(store.as_ref(), &lost, 9).await;
        let seq = store
            .find_message(&c.account_id, &c.id, "alice", "lost")
            .await
            .unwrap()
            .expect("stored")
            .seq;
        assert_claim_completed(&lost, seq).await;
    }
}

/// API Gateway's management API on the emulator, behind a proxy that answers 410 for the
/// connection the test says API Gateway no longer has (the emulator keeps every id).
async fn api_gateway_push() -> PushUnderTest {
    let proxy =
        integration_tests::faults::FaultProxy::start(&integration_tests::endpoint(), 1).await;
    let gone = domain::ids::new_id("gone");
    proxy.forget_connection(&gone);
    // The proxy keeps serving after its handle is dropped, for as long as the test runs.
    let config = integration_tests::config_at(&proxy.url).await;
    PushUnderTest {
        push: Arc::new(ApiGatewayPush::new(
            &config,
            "https://abc123.execute-api.us-east-1.amazonaws.com/live",
        )),
        open: domain::ids::new_id("open"),
        received: None,
        gone,
    }
}

mod push {
    use super::*;
    use_cases::push_contract_tests!(api_gateway_push());
}

/// #19 item 8: signing keys and webhook secrets are stored in partitions of their own under the
/// secrets' prefix (which the template denies to functions that need none), never in the
/// account's partition that every function reads.
#[tokio::test]
async fn secrets_are_stored_apart_under_the_secrets_prefix() {
    use adapters::dynamo::SECRETS_PREFIX;
    use aws_sdk_dynamodb::types::AttributeValue;
    use domain::model::SigningKey;
    let store = dynamo_store().await;
    let account = use_cases::contract::fresh_account();
    store
        .put_account(&domain::model::Account {
            id: account.clone(),
            name: "Acme".into(),
            capabilities: Vec::new(),
            created_at: 5,
            messaging_enabled_at: None,
            widget_key: None,
        })
        .await
        .unwrap();
    let key = SigningKey {
        account_id: account.clone(),
        kid: "k1".into(),
        secret: "hunter2-but-longer".into(),
        created_at: 5,
    };
    store.put_signing_key(&key).await.unwrap();
    assert_eq!(
        store.get_signing_key(&account, "k1").await.unwrap(),
        Some(key)
    );
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let partition = |pk: String| {
        let client = client.clone();
        async move {
            client
                .query()
                .table_name(&provisioned().await.table_name)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .items
                .unwrap_or_default()
        }
    };
    let (subscription, webhook_secret) = domain::webhooks::create_subscription(
        &account,
        "admin-1",
        domain::webhooks::NewSubscription {
            url: "https://hooks.example.com/relay".into(),
            events: vec![domain::webhooks::WebhookEventType::MessageCreated],
        },
        false,
        5,
    )
    .unwrap();
    store
        .create_subscription(&subscription, &webhook_secret)
        .await
        .unwrap();
    let in_account = partition(format!("A#{account}")).await;
    assert_eq!(in_account.len(), 2, "the account and its subscription");
    assert!(in_account.iter().all(|item| !item.contains_key("secret")));
    let keys = partition(format!("{SECRETS_PREFIX}KEYS#{account}")).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0].get("secret"),
        Some(&AttributeValue::S("hunter2-but-longer".into()))
    );
    let hooks = partition(format!("{SECRETS_PREFIX}HOOKS#{account}")).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].get("secret"),
        Some(&AttributeValue::S(webhook_secret.0.clone()))
    );
}
