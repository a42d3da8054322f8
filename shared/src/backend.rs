//! The set of adapters a function runs on, built once per cold start.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::adapters::dynamo::DynamoStore;
use crate::adapters::memory::{MemoryObjects, MemoryQueue, MemoryStore};
use crate::adapters::s3::S3Objects;
use crate::adapters::sqs::SqsQueue;
use crate::config::FunctionConfig;
use crate::error::StoreError;
use crate::model::{Account, SigningKey};
use crate::ports::{ObjectStore, Queue, Store, StoredSettings};
use crate::settings::Settings;

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
pub async fn load_aws_config() -> SdkConfig {
    use crate::config::optional;
    let endpoint = optional("AWS_ENDPOINT_URL");
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
    loader.load().await
}

/// Which AWS services a function links besides DynamoDB. Each `main.rs` names what its
/// handlers use; what it does not name is not linked into its binary at all (the S3 and SQS
/// clients are each several hundred KB of a zip and a client built at every cold start).
#[derive(Clone, Copy)]
pub struct Links {
    objects: fn(&SdkConfig, &FunctionConfig) -> Arc<dyn ObjectStore>,
    queues: fn(&SdkConfig, &FunctionConfig) -> Queues,
}

/// Functions that publish to queues and never touch attachment objects.
pub const DYNAMODB_AND_SQS: Links = Links {
    objects: no_objects,
    queues: sqs_queues,
};
/// The attachment functions: the bucket, no queue to publish to.
pub const DYNAMODB_AND_S3: Links = Links {
    objects: s3_objects,
    queues: no_queues,
};
/// Everything (the local gateway and the tests serve every function from one backend).
pub const ALL_SERVICES: Links = Links {
    objects: s3_objects,
    queues: sqs_queues,
};

/// The queues a function may publish to.
pub struct Queues {
    routing: Arc<dyn Queue>,
    settings_effects: Arc<dyn Queue>,
    attachment_events: Arc<dyn Queue>,
}

fn sqs_queues(sdk: &SdkConfig, config: &FunctionConfig) -> Queues {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue = |url: &str| -> Arc<dyn Queue> { Arc::new(SqsQueue::new(sqs.clone(), url)) };
    Queues {
        routing: queue(&config.routing_queue_url),
        settings_effects: queue(&config.settings_effects_queue_url),
        attachment_events: queue(&config.attachment_events_queue_url),
    }
}

fn no_queues(_: &SdkConfig, _: &FunctionConfig) -> Queues {
    Queues {
        routing: Arc::new(NotLinked),
        settings_effects: Arc::new(NotLinked),
        attachment_events: Arc::new(NotLinked),
    }
}

fn s3_objects(sdk: &SdkConfig, config: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(S3Objects::new(sdk, &config.attachments_bucket))
}

fn no_objects(_: &SdkConfig, _: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(NotLinked)
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
    async fn receive(&self, _max: u32) -> Result<Vec<crate::ports::ReceivedMessage>, StoreError> {
        self.refuse()
    }
    async fn acknowledge(&self, _receipt: &str) -> Result<(), StoreError> {
        self.refuse()
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
    ) -> Result<crate::ports::UploadTarget, StoreError> {
        self.refuse()
    }
    async fn object_size(&self, _key: &str) -> Result<Option<u64>, StoreError> {
        self.refuse()
    }
    async fn read_prefix(&self, _key: &str, _max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        self.refuse()
    }
    async fn delete(&self, _key: &str) -> Result<(), StoreError> {
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

/// Visibility timeout and receive limit the in-memory routing queue mimics (see `infra`).
pub const MEMORY_QUEUE_VISIBILITY: Duration = Duration::from_secs(30);
pub const MEMORY_QUEUE_MAX_RECEIVES: u32 = 5;

#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn Store>,
    /// Signing keys read from `store`, kept for a minute per warm function.
    pub signing_keys: Arc<crate::auth::SigningKeys>,
    /// Conversations needing an agent (consumed by route-conversation).
    pub routing_queue: Arc<dyn Queue>,
    /// Side effects of settings changes (consumed by update-settings' effects worker).
    pub settings_effects_queue: Arc<dyn Queue>,
    /// The attachments bucket.
    pub objects: Arc<dyn ObjectStore>,
    /// Notifications of new attachment objects (consumed by validate-attachment).
    pub attachment_events_queue: Arc<dyn Queue>,
    /// In memory mode, the bucket whose URLs the local gateway serves.
    pub local_objects: Option<Arc<MemoryObjects>>,
}

impl Backend {
    /// Everything in process memory: nothing survives a restart.
    pub fn in_memory() -> Self {
        let queue = || {
            Arc::new(MemoryQueue::new(
                MEMORY_QUEUE_VISIBILITY,
                MEMORY_QUEUE_MAX_RECEIVES,
            ))
        };
        let attachment_events_queue: Arc<dyn Queue> = queue();
        let objects = Arc::new(MemoryObjects::new(attachment_events_queue.clone()));
        Self {
            store: Arc::new(MemoryStore::default()),
            signing_keys: Arc::default(),
            routing_queue: queue(),
            settings_effects_queue: queue(),
            objects: objects.clone(),
            attachment_events_queue,
            local_objects: Some(objects),
        }
    }

    /// DynamoDB, and the services `links` names, on whatever endpoint `sdk` names.
    pub fn aws(sdk: &SdkConfig, config: &FunctionConfig, links: Links) -> Self {
        let queues = (links.queues)(sdk, config);
        Self {
            store: Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                &config.table_name,
            )),
            signing_keys: Arc::default(),
            routing_queue: queues.routing,
            settings_effects_queue: queues.settings_effects,
            objects: (links.objects)(sdk, config),
            attachment_events_queue: queues.attachment_events,
            local_objects: None,
        }
    }

    /// The account's effective settings: spec defaults (R4 per account) under what admins set.
    pub async fn settings(&self, account_id: &str) -> Result<Settings, StoreError> {
        Ok(self.stored_and_effective_settings(account_id).await?.1)
    }

    /// What is stored (version, sparse document) and the effective settings it gives.
    pub async fn stored_and_effective_settings(
        &self,
        account_id: &str,
    ) -> Result<(Option<StoredSettings>, Settings), StoreError> {
        let stored = self.store.get_settings(account_id).await?;
        let account = self.store.get_account(account_id).await?;
        let settings = Settings::effective(stored.as_ref().map(|s| &s.document), account.as_ref());
        Ok((stored, settings))
    }

    /// Creates (or refreshes) an account with every capability and its signing key: the
    /// local/test bootstrap of the spec (account `demo`, key `dev`).
    pub async fn bootstrap_account(
        &self,
        account_id: &str,
        kid: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let existing = self.store.get_account(account_id).await?;
        if existing.is_none() {
            self.store
                .put_account(&Account {
                    id: account_id.into(),
                    name: account_id.into(),
                    capabilities: ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
                    created_at: now,
                    messaging_enabled_at: Some(now),
                })
                .await?;
        }
        self.store
            .put_signing_key(&SigningKey {
                account_id: account_id.into(),
                kid: kid.into(),
                secret: secret.into(),
                created_at: now,
            })
            .await
    }
}

/// Every capability a plan can include; the demo account has them all.
pub const ALL_CAPABILITIES: &[&str] = &["csat.customizable"];

/// The demo account and dev key of the local/test bootstrap.
pub const DEMO_ACCOUNT: &str = "demo";
pub const DEV_KID: &str = "dev";

/// `$DEV_SIGNING_SECRET`, default `dev-secret`.
pub fn dev_signing_secret() -> String {
    crate::config::optional("DEV_SIGNING_SECRET").unwrap_or_else(|| "dev-secret".into())
}
