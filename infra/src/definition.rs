//! The resources as data: one table (keys, indexes, TTL), work queues with their dead-letter
//! queues, one bucket. `template.yaml` and the LocalStack bootstrap are checked against this.

use super::*;

/// The key layout of the one DynamoDB table (see `adapters::dynamo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Resource name in `template.yaml`.
    pub logical_id: &'static str,
    pub name: String,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: &'static str,
    /// What the change stream carries (the fan-out needs both images, R27).
    pub stream_view: &'static str,
    /// Environment variable through which functions learn the table name.
    pub env_var: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// A work queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: &'static str,
    pub name: String,
    pub visibility_timeout_secs: u32,
    pub retention_secs: u32,
    pub dead_letter: DeadLetterSpec,
    /// Environment variable through which functions learn the queue URL.
    pub env_var: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterSpec {
    pub logical_id: &'static str,
    pub name: String,
    /// Receives after which a message moves to the dead-letter queue (R26).
    pub max_receive_count: u32,
    pub retention_secs: u32,
}

/// New objects under `prefix` are announced to the queue `queue` (a logical id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketNotification {
    pub queue: &'static str,
    pub prefix: &'static str,
}

/// The attachments bucket: private, encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub logical_id: &'static str,
    pub name: String,
    pub env_var: &'static str,
    /// Which queue hears of `s3:ObjectCreated:*` under which prefix: uploads (`a/`) go to
    /// validate-attachment, raw inbound mail (`e/in/`, SES's receipt rule) to email-inbound.
    pub notifications: Vec<BucketNotification>,
    /// Browsers on customers' sites post uploads and fetch downloads directly (CORS).
    pub cors: BucketCors,
}

/// The bucket's one CORS rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCors {
    pub allowed_methods: &'static [&'static str],
    pub allowed_origins: &'static [&'static str],
    pub allowed_headers: &'static [&'static str],
    pub max_age_secs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub table: TableSpec,
    pub queues: Vec<QueueSpec>,
    pub bucket: BucketSpec,
}

/// Longest Lambda timeout of a queue consumer; queue visibility must be ≥ 6× this (AWS advice).
pub const CONSUMER_TIMEOUT_SECS: u32 = 30;

/// Default prefix of physical resource names on an emulator.
pub const DEFAULT_PREFIX: &str = "relay";

/// A work queue with the product's standard settings: visibility 6× the consumer timeout,
/// 4 days' retention, and a dead-letter queue (14 days) after 5 receives.
fn work_queue(
    prefix: &str,
    stem: &str,
    (logical_id, dead_letter_logical_id): (&'static str, &'static str),
    env_var: &'static str,
) -> QueueSpec {
    QueueSpec {
        logical_id,
        name: format!("{prefix}-{stem}"),
        visibility_timeout_secs: 6 * CONSUMER_TIMEOUT_SECS,
        retention_secs: 4 * 24 * 3600,
        dead_letter: DeadLetterSpec {
            logical_id: dead_letter_logical_id,
            name: format!("{prefix}-{stem}-dlq"),
            max_receive_count: 5,
            retention_secs: 14 * 24 * 3600,
        },
        env_var,
    }
}

/// The product's resources, physical names starting with `prefix`.
pub fn definition(prefix: &str) -> Resources {
    Resources {
        table: TableSpec {
            logical_id: "MessagingTable",
            name: format!("{prefix}-messaging"),
            partition_key: "pk",
            sort_key: "sk",
            indexes: vec![
                // A user's conversations, newest first.
                IndexSpec {
                    name: "gsi1",
                    partition_key: "gsi1pk",
                    sort_key: "gsi1sk",
                },
                // Sparse: an account's active live chats (R3).
                IndexSpec {
                    name: "gsi2",
                    partition_key: "gsi2pk",
                    sort_key: "gsi2sk",
                },
                // Sparse: an agent's open tickets, newest activity first (inbox `mine`).
                IndexSpec {
                    name: "gsi3",
                    partition_key: "gsi3pk",
                    sort_key: "gsi3sk",
                },
                // An account's conversations in a few shards, newest activity first (`all`).
                IndexSpec {
                    name: "gsi4",
                    partition_key: "gsi4pk",
                    sort_key: "gsi4sk",
                },
                // The waiting list by group, in routing order (an agent's `waiting`).
                IndexSpec {
                    name: "gsi5",
                    partition_key: "gsi5pk",
                    sort_key: "gsi5sk",
                },
            ],
            ttl_attribute: "expires_at",
            stream_view: "NEW_AND_OLD_IMAGES",
            env_var: "TABLE_NAME",
        },
        queues: vec![
            work_queue(
                prefix,
                "routing",
                ("RoutingQueue", "RoutingDeadLetterQueue"),
                "ROUTING_QUEUE_URL",
            ),
            work_queue(
                prefix,
                "settings-effects",
                ("SettingsEffectsQueue", "SettingsEffectsDeadLetterQueue"),
                "SETTINGS_EFFECTS_QUEUE_URL",
            ),
            work_queue(
                prefix,
                "attachment-events",
                ("AttachmentEventsQueue", "AttachmentEventsDeadLetterQueue"),
                "ATTACHMENT_EVENTS_QUEUE_URL",
            ),
            // One message per (subscription, event): its receive count is the attempt, each
            // failure sets its visibility to the next wait, and the redrive policy
            // dead-letters it after the last attempt (R29).
            QueueSpec {
                dead_letter: DeadLetterSpec {
                    max_receive_count: domain::webhooks::MAX_ATTEMPTS,
                    ..work_queue(
                        prefix,
                        "webhook-deliveries",
                        ("WebhookQueue", "WebhookDeadLetterQueue"),
                        "WEBHOOK_QUEUE_URL",
                    )
                    .dead_letter
                },
                ..work_queue(
                    prefix,
                    "webhook-deliveries",
                    ("WebhookQueue", "WebhookDeadLetterQueue"),
                    "WEBHOOK_QUEUE_URL",
                )
            },
            // One message per (change, reaction) that failed in the fan-out (R31): its receive
            // count is the attempt; its dead-letter queue is the failure queue, replayed by
            // `relay-admin redrive reactions`.
            work_queue(
                prefix,
                "stream-reactions",
                ("ReactionsQueue", "ReactionsDeadLetterQueue"),
                "REACTIONS_QUEUE_URL",
            ),
            // The bucket's notifications of raw inbound mail (R35), consumed by email-inbound.
            work_queue(
                prefix,
                "email-inbound",
                ("EmailInboundQueue", "EmailInboundDeadLetterQueue"),
                "EMAIL_INBOUND_QUEUE_URL",
            ),
        ],
        bucket: BucketSpec {
            logical_id: "AttachmentsBucket",
            name: format!("{prefix}-attachments"),
            env_var: "ATTACHMENTS_BUCKET",
            notifications: vec![
                BucketNotification {
                    queue: "AttachmentEventsQueue",
                    prefix: domain::attachments::OBJECT_KEY_PREFIX,
                },
                BucketNotification {
                    queue: "EmailInboundQueue",
                    prefix: domain::email::inbound::INBOUND_MAIL_PREFIX,
                },
            ],
            // Any origin: the presigned URL is the permission, and it names one object.
            cors: BucketCors {
                allowed_methods: &["POST", "GET"],
                allowed_origins: &["*"],
                allowed_headers: &["*"],
                max_age_secs: 3600,
            },
        },
    }
}

impl Resources {
    /// Every attribute that appears in a key of the table or an index (all strings).
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.table.partition_key, self.table.sort_key];
        for index in &self.table.indexes {
            names.push(index.partition_key);
            names.push(index.sort_key);
        }
        names
    }

    /// The same definition in the AWS API's JSON shapes (CreateTable input, queue attributes),
    /// which the LocalStack init hook reads (`localstack/init/resources.json`).
    pub fn to_bootstrap_json(&self) -> serde_json::Value {
        let table = &self.table;
        let key_schema = |pk: &str, sk: &str| {
            json!([
                {"AttributeName": pk, "KeyType": "HASH"},
                {"AttributeName": sk, "KeyType": "RANGE"}
            ])
        };
        let queues: Vec<_> = self
            .queues
            .iter()
            .map(|q| {
                json!({
                    "QueueName": q.name,
                    "Attributes": {
                        "VisibilityTimeout": q.visibility_timeout_secs.to_string(),
                        "MessageRetentionPeriod": q.retention_secs.to_string(),
                    },
                    "DeadLetterQueue": {
                        "QueueName": q.dead_letter.name,
                        "MaxReceiveCount": q.dead_letter.max_receive_count,
                        "MessageRetentionPeriod": q.dead_letter.retention_secs.to_string(),
                    }
                })
            })
            .collect();
        json!({
            "Table": {
                "TableName": table.name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": self.key_attributes().iter()
                    .map(|a| json!({"AttributeName": a, "AttributeType": "S"}))
                    .collect::<Vec<_>>(),
                "KeySchema": key_schema(table.partition_key, table.sort_key),
                "GlobalSecondaryIndexes": table.indexes.iter().map(|i| json!({
                    "IndexName": i.name,
                    "KeySchema": key_schema(i.partition_key, i.sort_key),
                    "Projection": {"ProjectionType": "ALL"}
                })).collect::<Vec<_>>(),
                "StreamSpecification": {"StreamEnabled": true, "StreamViewType": table.stream_view},
                "TimeToLiveAttribute": table.ttl_attribute,
            },
            "Queues": queues,
            "Bucket": {
                "Name": self.bucket.name,
                "Notifications": self.bucket.notifications.iter().map(|n| json!({
                    "Queue": self.queues.iter()
                        .find(|q| q.logical_id == n.queue)
                        .map(|q| q.name.clone()),
                    "Prefix": n.prefix,
                })).collect::<Vec<_>>(),
                "CorsRules": [{
                    "AllowedMethods": self.bucket.cors.allowed_methods,
                    "AllowedOrigins": self.bucket.cors.allowed_origins,
                    "AllowedHeaders": self.bucket.cors.allowed_headers,
                    "MaxAgeSeconds": self.bucket.cors.max_age_secs,
                }],
            },
        })
    }
}
