//! The ports a function runs on, bundled (`Backend`), and the use-case helpers every function
//! shares (effective settings, account bootstrap). Which adapters fill the ports is decided in
//! `adapters::wiring`, never here.

use std::sync::Arc;

use crate::error::StoreError;
use crate::ports::{ObjectStore, Push, Queue, Store, StoredSettings};
use domain::model::SigningKey;
use domain::settings::Settings;

/// Limits an operator may tighten (tests do); the defaults are the product's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Live WebSocket connections one account may hold (R27); the next is refused (429).
    pub max_connections_per_account: usize,
    /// Live WebSocket connections one listener may hold (R33); the next is refused (429).
    pub max_connections_per_listener: usize,
    /// New widget visitors per source address and account (spec: 30 a minute).
    pub visitor_rate: domain::widget::VisitorRate,
    /// How long an HTTP request may take in all (#33 item 5): past it the caller gets 503 with
    /// `Retry-After`, well before the function's 10 s timeout would cut it off with a 502.
    pub request_deadline: std::time::Duration,
    /// Webhook URLs may be `http://127.0.0.1` (the local gateway's
    /// `RELAY_ALLOW_LOOPBACK_WEBHOOKS=1`); never on AWS.
    pub allow_loopback_webhooks: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_account: domain::realtime::MAX_CONNECTIONS_PER_ACCOUNT,
            max_connections_per_listener: domain::realtime::MAX_CONNECTIONS_PER_LISTENER,
            visitor_rate: domain::widget::VISITOR_RATE,
            request_deadline: REQUEST_DEADLINE,
            allow_loopback_webhooks: false,
        }
    }
}

/// An HTTP request's deadline on AWS: inside the HTTP functions' 10 s `Timeout`, with room to
/// answer. The SDK's own operation timeout (8 s) bounds one call; this bounds them all.
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_millis(8_500);

#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn Store>,
    /// Signing keys read from `store`, kept for a minute per warm function.
    pub signing_keys: Arc<crate::auth::SigningKeys>,
    /// Accounts' effective settings, kept a few seconds per warm function (#41).
    pub settings_cache: Arc<crate::settings_cache::SettingsCache>,
    /// Accounts' article search indexes, kept while their knowledge base stands (#36).
    pub knowledge_indexes: Arc<crate::knowledge::KnowledgeIndexes>,
    /// Integration keys' ids the table did not hold a moment ago (R33): refused without a read.
    pub unknown_integration_keys: Arc<crate::key_cache::UnknownKeys>,
    /// Conversations needing an agent (consumed by route-conversation).
    pub routing_queue: Arc<dyn Queue>,
    /// Side effects of settings changes (consumed by update-settings' effects worker).
    pub settings_effects_queue: Arc<dyn Queue>,
    /// Webhook deliveries, one message per (subscription, event) (consumed by deliver-webhook).
    pub webhook_queue: Arc<dyn Queue>,
    /// Stream reactions to run again, one message per (change, reaction) (consumed by the
    /// fan-out; its dead-letter queue is the failure queue, R31).
    pub reactions_queue: Arc<dyn Queue>,
    /// The attachments bucket.
    pub objects: Arc<dyn ObjectStore>,
    /// Notifications of new attachment objects (consumed by validate-attachment).
    pub attachment_events_queue: Arc<dyn Queue>,
    /// WebSocket connections frames are pushed to (R27).
    pub push: Arc<dyn Push>,
    /// R35's emails (SES on AWS, the local mailbox in memory; none where not linked).
    pub mailer: Arc<dyn crate::ports::Mailer>,
    pub limits: Limits,
}

impl Backend {
    /// The account's effective settings: spec defaults (R4 per account) under what admins set,
    /// as read at most [`crate::settings_cache::SETTINGS_CACHE_TTL`] ago by this function.
    pub async fn settings(&self, account_id: &str) -> Result<Settings, StoreError> {
        if let Some(settings) = self.settings_cache.fresh(account_id) {
            return Ok(settings);
        }
        let (stored, settings) = self.stored_and_effective_settings(account_id).await?;
        let version = stored.as_ref().map_or(0, |s| s.version);
        self.settings_cache.keep(account_id, version, &settings);
        Ok(settings)
    }

    /// What is stored (version, sparse document) and the effective settings it gives, read
    /// now (the settings API and a change's effects must not act on a cached version).
    pub async fn stored_and_effective_settings(
        &self,
        account_id: &str,
    ) -> Result<(Option<StoredSettings>, Settings), StoreError> {
        crate::ports::stored_and_effective_settings(self.store.as_ref(), account_id).await
    }

    /// Creates (or refreshes) an account with every capability and its signing key: the
    /// local/test bootstrap of the spec (account `demo`, key `dev`).
    pub async fn bootstrap_account(
        &self,
        account_id: &str,
        kid: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        let now = domain::now_ms();
        // The account as `relay-admin create-account` makes it (its own first key included);
        // the bootstrap's key, whose secret the local tools know, is added beside it.
        if self.store.get_account(account_id).await?.is_none() {
            match crate::signing_keys::create_account(self, account_id, account_id, "admin", now)
                .await
            {
                Ok(_) | Err(crate::signing_keys::SigningKeyError::AccountExists(_)) => {}
                Err(crate::signing_keys::SigningKeyError::Store(error)) => return Err(error),
                Err(other) => return Err(StoreError::Internal(other.to_string())),
            }
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

#[async_trait::async_trait]
impl crate::settings_cache::AccountSettings for Backend {
    async fn account_settings(&self, account_id: &str) -> Result<Settings, StoreError> {
        self.settings(account_id).await
    }
}

/// Every capability a plan can include; the demo account has them all.
pub const ALL_CAPABILITIES: &[&str] = &["csat.customizable"];

/// The demo account and dev key of the local/test bootstrap.
pub const DEMO_ACCOUNT: &str = "demo";
pub const DEV_KID: &str = "dev";

/// `$DEV_SIGNING_SECRET`, default `dev-secret`.
pub fn dev_signing_secret() -> String {
    std::env::var("DEV_SIGNING_SECRET")
        .ok()
        .filter(|secret| !secret.trim().is_empty())
        .unwrap_or_else(|| "dev-secret".into())
}
