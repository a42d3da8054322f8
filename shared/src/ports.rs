//! Ports: the small storage and queue interfaces the handlers depend on. Adapters live in
//! `crate::adapters`; every adapter passes the same contract suite (`crate::contract`).

use async_trait::async_trait;

use crate::error::StoreError;
use crate::model::{Account, AppendOutcome, Conversation, Message, SigningKey};

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates or replaces an account (bootstrap and admin tooling).
    async fn put_account(&self, account: &Account) -> Result<(), StoreError>;
    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError>;
    /// Creates or replaces a signing key.
    async fn put_signing_key(&self, key: &SigningKey) -> Result<(), StoreError>;
    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError>;
    /// The account's stored settings document, if any was ever written.
    async fn get_settings_document(
        &self,
        account_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores a new conversation; `AlreadyExists` if the id is taken.
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;
    async fn get_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError>;
    /// The user's conversations, newest first, at most `limit`.
    async fn list_conversations_for_user(
        &self,
        account_id: &str,
        owner_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Replaces the conversation if its stored revision is still `conversation.revision - 1`;
    /// `Conflict` otherwise (someone else wrote first: re-read and re-apply).
    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends `message` with the next sequence number of its conversation (its `seq` field is
    /// ignored). Atomic with the idempotency record of (`author_id`, `client_message_id`): when
    /// that pair was used before, nothing is written and the stored message comes back as
    /// `Existing`. Concurrent appends get distinct, gap-free sequence numbers.
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError>;
    /// The message stored for (`author_id`, `client_message_id`) in the conversation, if any.
    async fn find_message(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError>;
    /// Messages with `seq > after_seq`, oldest first, at most `limit`.
    async fn list_messages(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
    /// The highest sequence number used in the conversation (0 when it has no message).
    async fn last_seq(&self, account_id: &str, conversation_id: &str) -> Result<u64, StoreError>;
}

/// Everything a handler needs from storage, as one object.
pub trait Store: AccountStore + ConversationStore + MessageStore {}
impl<T: AccountStore + ConversationStore + MessageStore> Store for T {}

/// A message taken from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable id of the message (the batch-failure item identifier).
    pub message_id: String,
    /// Token to delete (acknowledge) this delivery.
    pub receipt: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// A work queue with at-least-once delivery.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues `body`, invisible for `delay_seconds` (0–900).
    async fn send(&self, body: &str, delay_seconds: u32) -> Result<(), StoreError>;
    /// Up to `max` visible messages; each stays invisible until acknowledged or its visibility
    /// timeout passes.
    async fn receive(&self, max: u32) -> Result<Vec<ReceivedMessage>, StoreError>;
    async fn acknowledge(&self, receipt: &str) -> Result<(), StoreError>;
}
