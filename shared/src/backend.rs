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

/// How a function reaches the attachments bucket. Only the attachment functions name
/// [`s3_objects`]; the others pass [`no_objects`], so the S3 client is not linked into their
/// binaries at all (about 0.5 MB of each zip and a client built at every cold start).
pub type ObjectsAdapter = fn(&SdkConfig, &FunctionConfig) -> Arc<dyn ObjectStore>;

/// The attachments bucket on S3.
pub fn s3_objects(sdk: &SdkConfig, config: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(S3Objects::new(sdk, &config.attachments_bucket))
}

/// For functions that never touch attachment objects: every call is refused.
pub fn no_objects(_: &SdkConfig, _: &FunctionConfig) -> Arc<dyn ObjectStore> {
    Arc::new(NoObjects)
}

/// The object store of a function without one; reaching it is a wiring mistake, reported as
/// an internal error (a 500 with no detail for the client) rather than a panic.
struct NoObjects;

impl NoObjects {
    fn refuse<T>(&self) -> Result<T, StoreError> {
        Err(StoreError::Internal(
            "this function has no attachments bucket (built with no_objects)".into(),
        ))
    }
}

#[async_trait::async_trait]
impl ObjectStore for NoObjects {
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

    /// DynamoDB and SQS on whatever endpoint `sdk` names, and the attachments bucket through
    /// `objects` ([`s3_objects`] or [`no_objects`]).
    pub fn aws(sdk: &SdkConfig, config: &FunctionConfig, objects: ObjectsAdapter) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self {
            store: Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                &config.table_name,
            )),
            signing_keys: Arc::default(),
            routing_queue: Arc::new(SqsQueue::new(sqs.clone(), &config.routing_queue_url)),
            settings_effects_queue: Arc::new(SqsQueue::new(
                sqs.clone(),
                &config.settings_effects_queue_url,
            )),
            objects: objects(sdk, config),
            attachment_events_queue: Arc::new(SqsQueue::new(
                sqs,
                &config.attachment_events_queue_url,
            )),
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
