//! The composition root: which adapters a `Backend` is built from. In memory (the local
//! gateway's default and the fast tests), or DynamoDB plus the AWS services a function links.
//! The only place besides the adapters themselves that names a concrete adapter.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use super::apigateway::ApiGatewayPush;
use super::dynamo::DynamoStore;
use super::memory::{MemoryObjects, MemoryPush, MemoryQueue, MemoryStore};
use super::on_demand::OnDemand;
use super::s3::S3Objects;
use super::sqs::SqsQueue;
use crate::config::FunctionConfig;
use use_cases::backend::Backend;
use use_cases::error::StoreError;
use use_cases::ports::{
    ChangeFeed, LocalBucket, MailSender, Mailer, ObjectStore, Push, PushOutcome, Queue,
};

/// The AWS SDK behaviour version, pinned so SDK upgrades cannot change defaults silently.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
/// Against an emulator, missing credentials and region get harmless defaults. No network call
/// happens here: credentials resolve lazily on first use.
///
/// When the environment names the region and the keys (Lambda always does), they are taken
/// from it directly: the default chains would pick the same values but first build profile,
/// web-identity and IMDS providers, about half of the remaining cold start.
/// How long an AWS call may take: to connect, per attempt, and in all with the SDK's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    pub connect: std::time::Duration,
    pub attempt: std::time::Duration,
    pub operation: std::time::Duration,
}

/// On AWS: an attempt is a few milliseconds in-region, and the whole operation ends inside
/// the HTTP functions' 10 s, so a stalled call becomes a 503 the client retries, not a Lambda
/// timeout (#19 item 9).
pub const AWS_TIMEOUTS: SdkTimeouts = SdkTimeouts {
    connect: std::time::Duration::from_secs(2),
    attempt: std::time::Duration::from_secs(3),
    operation: std::time::Duration::from_secs(8),
};

/// On an emulator (`AWS_ENDPOINT_URL` set): moto is one Python process whose index queries
/// scan the whole table, so a busy suite or the bench's large tables take seconds per call.
pub const EMULATOR_TIMEOUTS: SdkTimeouts = SdkTimeouts {
    connect: std::time::Duration::from_secs(5),
    attempt: std::time::Duration::from_secs(60),
    operation: std::time::Duration::from_secs(120),
};

pub async fn load_aws_config() -> SdkConfig {
    let endpoint = crate::config::optional("AWS_ENDPOINT_URL");
    let timeouts = match endpoint {
        Some(_) => EMULATOR_TIMEOUTS,
        None => AWS_TIMEOUTS,
    };
    load_aws_config_at(endpoint, timeouts).await
}

/// [`load_aws_config`] with the endpoint (`None`: AWS itself) and timeouts given; region and
/// credentials still come from the environment.
pub async fn load_aws_config_at(endpoint: Option<String>, timeouts: SdkTimeouts) -> SdkConfig {
    use crate::config::optional;
    let mut loader = aws_config::defaults(behavior_version())
        .http_client(crate::http_client::https_client(endpoint.as_deref()));
    let region = optional("AWS_REGION").or_else(|| optional("AWS_DEFAULT_REGION"));
    match (region, &endpoint) {
        (Some(region), _) => loader = loader.region(aws_config::Region::new(region)),
        (None, Some(_)) => loader = loader.region(aws_config::Region::new("us-east-1")),
        (None, None) => {}
    }
    if optional("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    } else if endpoint.is_some() {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ));
    }
    if let Some(endpoint) = &endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    // Without these a stalled connection holds the call for the function's whole timeout.
    loader = loader.timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(timeouts.connect)
            .operation_attempt_timeout(timeouts.attempt)
            .operation_timeout(timeouts.operation)
            .build(),
    );
    loader.load().await
}

/// Which AWS services a function links besides DynamoDB. Each `main.rs` names what its
/// handlers use; what it does not name is not linked into its binary at all (the S3 and SQS
/// clients are each several hundred KB of a zip and a client built at every cold start).
#[derive(Clone, Copy)]
pub struct Links {
    objects: fn(&SdkConfig, &FunctionConfig) -> Arc<dyn ObjectStore>,
    queues: fn(&SdkConfig, &FunctionConfig) -> Queues,
    push: fn(&SdkConfig, &FunctionConfig) -> Arc<dyn Push>,
    mailer: fn(&SdkConfig, &FunctionConfig) -> Arc<dyn Mailer>,
}

/// Functions that publish to queues and never touch attachment objects (the workspace too:
/// redacted and erased files are deleted by validate-attachment, through its queue).
pub const DYNAMODB_AND_SQS: Links = Links {
    objects: no_objects,
    queues: sqs_queues,
    push: no_push,
    mailer: no_mailer,
};
/// The attachment functions: the bucket, no queue to publish to.
pub const DYNAMODB_AND_S3: Links = Links {
    objects: s3_objects,
    queues: no_queues,
    push: no_push,
    mailer: no_mailer,
};
/// email-inbound: raw mail and emailed files in the bucket; a reply that starts a new session
/// asks routing for an agent.
pub const DYNAMODB_S3_AND_SQS: Links = Links {
    objects: s3_objects,
    queues: sqs_queues,
    push: no_push,
    mailer: no_mailer,
};
/// route-conversation: the conversations' timers, R35's email of unread replies among them
/// (SES, and download links to the replies' files).
pub const TIMERS: Links = Links {
    objects: s3_objects,
    queues: sqs_queues,
    push: no_push,
    mailer: ses_mailer,
};
/// The real-time functions: connections in the table, frames through API Gateway.
pub const DYNAMODB_AND_PUSH: Links = Links {
    objects: no_objects,
    queues: no_queues,
    push: api_gateway_push,
    mailer: no_mailer,
};
/// The fan-out (frames through API Gateway; webhook jobs, idle checks and file purges to their
/// queues) and ingest-message (routing requests; a stored message's frames at once, R27's
/// fast path). The API Gateway client is built on first push.
pub const DYNAMODB_PUSH_AND_SQS: Links = Links {
    objects: no_objects,
    queues: sqs_queues,
    push: api_gateway_push,
    mailer: no_mailer,
};
/// Functions that only read and write the table (the widget's API).
pub const DYNAMODB_ONLY: Links = Links {
    objects: no_objects,
    queues: no_queues,
    push: no_push,
    mailer: no_mailer,
};
/// Everything (the local gateway and the tests serve every function from one backend).
pub const ALL_SERVICES: Links = Links {
    objects: s3_objects,
    queues: sqs_queues,
    push: api_gateway_push,
    mailer: ses_mailer,
};

/// The queues a function may publish to.
pub struct Queues {
    routing: Arc<dyn Queue>,
    settings_effects: Arc<dyn Queue>,
    attachment_events: Arc<dyn Queue>,
    webhooks: Arc<dyn Queue>,
    reactions: Arc<dyn Queue>,
}

fn sqs_queues(sdk: &SdkConfig, config: &FunctionConfig) -> Queues {
    let sdk = sdk.clone();
    let sqs = OnDemand::new(move || aws_sdk_sqs::Client::new(&sdk));
    let queue = |url: &str| -> Arc<dyn Queue> { Arc::new(SqsQueue::on_demand(sqs.clone(), url)) };
    Queues {
        routing: queue(&config.routing_queue_url),
        settings_effects: queue(&config.settings_effects_queue_url),
        attachment_events: queue(&config.attachment_events_queue_url),
        webhooks: queue(&config.webhook_queue_url),
        reactions: queue(&config.reactions_queue_url),
    }
}

fn no_queues(_: &SdkConfig, _: &FunctionConfig) -> Queues {
    Queues {
        routing: Arc::new(NotLinked),
        settings_effects: Arc::new(NotLinked),
        attachment_events: Arc::new(NotLinked),
        webhooks: Arc::new(NotLinked),
        reactions: Arc::new(NotLinked),
    }
}

fn s3_objects(sdk: &SdkConfig, config: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(S3Objects::new(sdk, &config.attachments_bucket))
}

fn no_objects(_: &SdkConfig, _: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(NotLinked)
}

fn api_gateway_push(sdk: &SdkConfig, config: &FunctionConfig) -> Arc<dyn Push> {
    match &config.realtime_endpoint {
        Some(endpoint) => Arc::new(ApiGatewayPush::new(sdk, endpoint)),
        None => Arc::new(NotLinked),
    }
}

fn no_push(_: &SdkConfig, _: &FunctionConfig) -> Arc<dyn Push> {
    Arc::new(NotLinked)
}

fn ses_mailer(sdk: &SdkConfig, config: &FunctionConfig) -> Arc<dyn Mailer> {
    match &config.email {
        Some(email) => Arc::new(crate::ses::SesMailer::new(sdk, email)),
        None => Arc::new(NotLinked),
    }
}

fn no_mailer(_: &SdkConfig, _: &FunctionConfig) -> Arc<dyn Mailer> {
    Arc::new(NotLinked)
}

/// Who the local gateway's emails come from (`/mailbox/`; verified on the emulator).
pub fn local_sender() -> MailSender {
    MailSender {
        from: "support@relay.localhost".into(),
        reply_domain: "reply.localhost".into(),
    }
}

/// [`local_sender`] as a function's email configuration (the gateway on an emulator).
pub fn local_email_config() -> crate::config::EmailConfig {
    let sender = local_sender();
    crate::config::EmailConfig {
        from: sender.from,
        reply_domain: sender.reply_domain,
        configuration_set: None,
    }
}

/// A service a function was built without; reaching it is a wiring mistake, reported as an
/// internal error (a 500 with no detail for the client) rather than a panic.
struct NotLinked;

impl NotLinked {
    fn refuse<T>(&self) -> Result<T, StoreError> {
        Err(StoreError::Internal(
            "service not linked into this function (see backend::Links)".into(),
        ))
    }
}

#[async_trait::async_trait]
impl Queue for NotLinked {
    async fn send(&self, _body: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        self.refuse()
    }
    async fn receive(
        &self,
        _max: u32,
    ) -> Result<Vec<use_cases::ports::ReceivedMessage>, StoreError> {
        self.refuse()
    }
    async fn acknowledge(&self, _receipt: &str) -> Result<(), StoreError> {
        self.refuse()
    }
    async fn retry_after(&self, _receipt: &str, _delay_seconds: u32) -> Result<(), StoreError> {
        self.refuse()
    }
}

#[async_trait::async_trait]
impl Push for NotLinked {
    async fn push(&self, _connection_id: &str, _frame: &str) -> Result<PushOutcome, StoreError> {
        self.refuse()
    }
    async fn close(&self, _connection_id: &str) -> Result<(), StoreError> {
        self.refuse()
    }
    fn is_linked(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl ObjectStore for NotLinked {
    async fn upload_target(
        &self,
        _key: &str,
        _content_type: &str,
        _max_bytes: u64,
        _ttl_secs: u64,
    ) -> Result<domain::attachments::UploadTarget, StoreError> {
        self.refuse()
    }
    async fn object_head(
        &self,
        _key: &str,
    ) -> Result<Option<use_cases::ports::ObjectHead>, StoreError> {
        self.refuse()
    }
    async fn read_prefix(
        &self,
        _key: &str,
        _max_bytes: u64,
        _etag: &str,
    ) -> Result<Vec<u8>, StoreError> {
        self.refuse()
    }
    async fn copy_if_unchanged(
        &self,
        _from: &str,
        _to: &str,
        _etag: &str,
    ) -> Result<(), StoreError> {
        self.refuse()
    }
    async fn put_object(
        &self,
        _key: &str,
        _bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        self.refuse()
    }
    async fn delete(&self, _key: &str) -> Result<(), StoreError> {
        self.refuse()
    }
    async fn delete_prefix(&self, _prefix: &str) -> Result<usize, StoreError> {
        self.refuse()
    }
    async fn download_url(
        &self,
        _key: &str,
        _file_name: &str,
        _content_type: &str,
        _ttl_secs: u64,
    ) -> Result<String, StoreError> {
        self.refuse()
    }
}

/// Without a sender, a deployment sends no email (the check drops it).
#[async_trait::async_trait]
impl Mailer for NotLinked {
    fn sender(&self) -> Option<&MailSender> {
        None
    }
    async fn send(
        &self,
        _email: &domain::email::outbound::OutgoingEmail,
    ) -> Result<Option<String>, StoreError> {
        self.refuse()
    }
}

/// Visibility timeout and receive limit the in-memory routing queue mimics (see `infra`).
pub const MEMORY_QUEUE_VISIBILITY: Duration = Duration::from_secs(30);
pub const MEMORY_QUEUE_MAX_RECEIVES: u32 = 5;

/// Everything in process memory: nothing survives a restart.
pub fn in_memory() -> Backend {
    in_memory_with_local().backend
}

/// An in-memory backend with what only a local server of it needs: the bucket whose URLs it
/// serves, and the feed of the store's changes it runs the fan-out from (on AWS, Lambda reads
/// the table's stream and calls the fan-out function).
pub struct InMemory {
    pub backend: Backend,
    pub bucket: Arc<dyn LocalBucket>,
    pub changes: Arc<dyn ChangeFeed>,
    /// What the backend's mailer sent (`/mailbox/`).
    pub mailbox: Arc<crate::memory::MemoryMailbox>,
}

/// [`in_memory`], with its bucket and change feed.
pub fn in_memory_with_local() -> InMemory {
    let queue = || {
        Arc::new(MemoryQueue::new(
            MEMORY_QUEUE_VISIBILITY,
            MEMORY_QUEUE_MAX_RECEIVES,
        ))
    };
    let attachment_events_queue: Arc<dyn Queue> = queue();
    let objects = Arc::new(MemoryObjects::new(attachment_events_queue.clone()));
    let store = Arc::new(MemoryStore::default());
    let mailbox = Arc::new(crate::memory::MemoryMailbox::new(local_sender(), None));
    let backend = Backend {
        store: store.clone(),
        signing_keys: Arc::default(),
        settings_cache: Arc::default(),
        knowledge_indexes: Arc::default(),
        unknown_integration_keys: Arc::default(),
        routing_queue: queue(),
        settings_effects_queue: queue(),
        webhook_queue: Arc::new(MemoryQueue::new(
            MEMORY_QUEUE_VISIBILITY,
            domain::webhooks::MAX_ATTEMPTS,
        )),
        reactions_queue: queue(),
        objects: objects.clone(),
        attachment_events_queue,
        push: Arc::new(MemoryPush::default()),
        mailer: mailbox.clone(),
        limits: Default::default(),
    };
    InMemory {
        backend,
        bucket: objects,
        changes: store,
        mailbox,
    }
}

/// DynamoDB, and the services `links` names, on whatever endpoint `sdk` names.
pub fn aws(sdk: &SdkConfig, config: &FunctionConfig, links: Links) -> Backend {
    let queues = (links.queues)(sdk, config);
    Backend {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.table_name,
        )),
        signing_keys: Arc::default(),
        settings_cache: Arc::default(),
        knowledge_indexes: Arc::default(),
        unknown_integration_keys: Arc::default(),
        routing_queue: queues.routing,
        settings_effects_queue: queues.settings_effects,
        webhook_queue: queues.webhooks,
        reactions_queue: queues.reactions,
        objects: (links.objects)(sdk, config),
        attachment_events_queue: queues.attachment_events,
        push: (links.push)(sdk, config),
        mailer: (links.mailer)(sdk, config),
        limits: use_cases::backend::Limits {
            // An emulator's calls may take as long as its SDK timeouts allow.
            request_deadline: match sdk.endpoint_url() {
                Some(_) => EMULATOR_TIMEOUTS.operation,
                None => use_cases::backend::REQUEST_DEADLINE,
            },
            ..Default::default()
        },
    }
}

/// The table's change stream as a feed of the changes from now on (the local gateway's
/// fan-out in AWS mode, where Lambda is not there to read it).
pub async fn stream_feed(
    sdk: &SdkConfig,
    stream_arn: &str,
) -> Result<Arc<dyn use_cases::ports::ChangeFeed>, StoreError> {
    let feed = super::dynamo::stream::DynamoStreamFeed::start(
        aws_sdk_dynamodbstreams::Client::new(sdk),
        stream_arn,
    )
    .await?;
    Ok(Arc::new(feed))
}

/// The client webhook deliveries go out through on AWS: public addresses only (no loopback,
/// R33's SSRF guard) and the delivery timeout.
pub fn webhook_sender() -> Result<crate::webhook_http::HttpWebhookSender, String> {
    crate::webhook_http::HttpWebhookSender::new(false, crate::webhook_http::DELIVERY_TIMEOUT)
}

/// The change one record of the table's stream describes: its two images decoded in the
/// table's item format (`dynamo::stream`), which is chosen here, with the table.
pub fn stream_change(
    old_image: serde_dynamo::Item,
    new_image: serde_dynamo::Item,
) -> Result<Option<domain::realtime::StoredChange>, StoreError> {
    crate::dynamo::stream::change_of(old_image, new_image)
}
