//! Email continuation's storage (R35, `domain::email`): each account's email secret, the grants
//! reply tokens name, and the list of inbound mail that could not be appended.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use domain::email::outbound::{EmailThread, OutgoingEmail};
use domain::email::reply_token::ReplyGrant;

/// An inbound mail that was dropped, kept for operators (the raw mail stays in the bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailFailure {
    /// The raw mail's object key in the bucket.
    pub object_key: String,
    /// A stable reason (`forged_token`, `expired_token`, `unparsable`, …).
    pub reason: String,
    /// The account, once a verified token named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub failed_at: i64,
}

#[async_trait]
pub trait EmailStore: Send + Sync {
    /// The account's secret for reply tokens, if it has one yet.
    async fn email_secret(&self, account_id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `candidate` as the account's secret unless it has one (first writer wins);
    /// answers the stored one.
    async fn create_email_secret(
        &self,
        account_id: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError>;

    /// Stores a grant (kept until it expires).
    async fn put_reply_grant(&self, grant: &ReplyGrant) -> Result<(), StoreError>;

    /// The grant of `token_id`, whoever's it is.
    async fn reply_grant(&self, token_id: &str) -> Result<Option<ReplyGrant>, StoreError>;

    /// Lists a dropped mail (once per object key).
    async fn record_email_failure(&self, failure: &EmailFailure) -> Result<(), StoreError>;

    /// The most recent failures, newest first, at most `limit`.
    async fn email_failures(&self, limit: usize) -> Result<Vec<EmailFailure>, StoreError>;

    /// What was emailed of a conversation (the default before its first email).
    async fn email_thread(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<EmailThread, StoreError>;

    /// Stores `thread` on condition the stored one is at `thread.version - 1`; `Conflict`
    /// otherwise (another check emailed first), and nothing is written.
    async fn put_email_thread(&self, thread: &EmailThread) -> Result<(), StoreError>;

    /// No email goes to `address` any more (a bounce or a complaint, `reason`).
    async fn suppress_address(
        &self,
        address: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError>;

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError>;
}

/// Who the product's emails come from, and the domain of their reply addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSender {
    pub from: String,
    pub reply_domain: String,
}

/// Sends email (R35): SES on AWS, a mailbox in memory.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Who sends, or `None` when this deployment sends no email.
    fn sender(&self) -> Option<&MailSender>;

    /// Sends `email`; answers the provider's Message-ID, when it gives one.
    async fn send(&self, email: &OutgoingEmail) -> Result<Option<String>, StoreError>;
}
