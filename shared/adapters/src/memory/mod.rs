//! In-memory adapters: the local gateway's default backend and the fast unit-test backend.
//! Same semantics as the AWS adapters (checked by the shared contract suite).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use domain::attachments::{Attachment, AttachmentStatus};
use domain::ids::new_id;
use domain::integrations::Integration;
use domain::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use domain::realtime::{Listener, Stored, StoredChange};
use domain::routing::{Agent, AgentProfileChange, AgentStatus, Offer, WaitingEntry};
use domain::rules::is_active_live_chat;
use domain::sessions::{CsatRequest, SessionChange};
use domain::settings::{AuditEntry, EffectJob, WorkspaceFacts, GENESIS_HASH};
use domain::webhooks::{DeliveryAttempt, Subscription, WebhookSecret};
use domain::workspace::HistoryEntry;
use use_cases::error::StoreError;
use use_cases::ports::{
    AccountStore, ActivityView, AttachmentStore, ChangeFeed, Connection, ConnectionStore,
    ConversationStore, HistoryStore, IntegrationStore, KnowledgeStore, LocalBucket, MacroStore,
    MessageStore, ObjectHead, ObjectStore, Push, PushOutcome, Queue, ReceivedMessage, ReportStore,
    RoutingStore, SessionStore, SettingsStore, StoredSettings, WebhookStore,
};

mod accounts;
mod attachments;
mod connections;
mod conversations;
mod email;
mod history;
mod integrations;
mod knowledge;
mod macros;
mod mailbox;
mod messages;
mod objects;
mod push;
mod queue;
mod reports;
mod routing;
mod sessions;
mod settings;
mod webhooks;

pub use mailbox::{MemoryMailbox, SentEmail};
pub use objects::MemoryObjects;
pub use push::{MemoryPush, Outgoing};
pub use queue::MemoryQueue;
pub use use_cases::ports::{LocalGrant, LOCAL_OBJECTS_PATH};

type ConversationKey = (String, String);
/// (account, day, agent, group)
type ReportRowKey = (String, String, Option<String>, Option<String>);

#[derive(Default)]
struct Tables {
    accounts: HashMap<String, Account>,
    keys: HashMap<(String, String), SigningKey>,
    /// (account, integration) → integration
    integrations: HashMap<(String, String), Integration>,
    /// (account, subscription) → webhook subscription
    subscriptions: HashMap<(String, String), Subscription>,
    /// (account, subscription) → its signing secret (stored apart, as in DynamoDB)
    webhook_secrets: HashMap<(String, String), WebhookSecret>,
    /// (account, subscription, at, event, attempt) → delivery attempt
    delivery_log: BTreeMap<(String, String, i64, String, u32), DeliveryAttempt>,
    /// (account, source address, window start) → widget visitors created
    visitor_signups: HashMap<(String, String, i64), u32>,
    /// (account, caller, quota, window start) → counters (R33)
    quotas: HashMap<(String, String, &'static str, i64), HashMap<&'static str, u64>>,
    settings: HashMap<String, StoredSettings>,
    audit: HashMap<String, BTreeMap<u64, AuditEntry>>,
    /// (account, version, effect) → job
    outbox: BTreeMap<(String, u64, String), EffectJob>,
    facts: HashMap<String, WorkspaceFacts>,
    conversations: HashMap<ConversationKey, Conversation>,
    messages: HashMap<ConversationKey, BTreeMap<u64, Message>>,
    /// (account, conversation, author, client_message_id) → seq
    idempotency: HashMap<(String, String, String, String), u64>,
    /// (account, conversation, attachment) → attachment
    attachments: HashMap<(String, String, String), Attachment>,
    /// (account, agent) → agent
    agents: BTreeMap<(String, String), Agent>,
    /// (account, agent, conversation) → offer
    offers: BTreeMap<(String, String, String), Offer>,
    /// (account, sort key) → entry
    waiting: BTreeMap<(String, String), WaitingEntry>,
    /// (account, conversation, revision, field) → history entry
    history: BTreeMap<(String, String, u64, String), HistoryEntry>,
    /// (account, conversation, session) → what the reports counted for it
    report_measures: HashMap<(String, String, u32), domain::reports::SessionMeasure>,
    /// (account, day, agent, group) → the reports' counters
    report_rows: BTreeMap<ReportRowKey, BTreeMap<String, i64>>,
    /// (account, article) → article, and account → its knowledge base's record
    articles: BTreeMap<(String, String), domain::knowledge::Article>,
    knowledge_bases: HashMap<String, domain::knowledge::KnowledgeBase>,
    /// (account, macro) → macro
    macros: BTreeMap<(String, String), domain::macros::Macro>,
    /// account → its macros' book; (account, version) → an audit entry of a macro change
    macro_books: HashMap<String, domain::macros::MacroBook>,
    macro_audit: BTreeMap<(String, u64), domain::settings::AuditEntry>,
    /// account → email secret; token id → reply grant; dropped inbound mail, oldest first
    email_secrets: HashMap<String, Vec<u8>>,
    reply_grants: HashMap<String, domain::email::reply_token::ReplyGrant>,
    email_failures: Vec<use_cases::ports::EmailFailure>,
    /// (account, conversation) → what was emailed of it; address → why it is suppressed
    email_threads: HashMap<(String, String), domain::email::outbound::EmailThread>,
    suppressed_addresses: HashMap<String, String>,
    /// (account, conversation, session) → CSAT request (the outbox of R6)
    csat: BTreeMap<(String, String, u32), CsatRequest>,
    /// connection id → connection, and its subscriptions
    connections: BTreeMap<String, (Connection, BTreeSet<String>)>,
    /// (account, conversation) → push cursor (`realtime::direct`)
    push_cursors: BTreeMap<(String, String), domain::realtime::PushCursor>,
    /// The change stream of conversations and messages, as DynamoDB Streams reports them.
    changes: VecDeque<StoredChange>,
    /// Wakes the change feed's reader after a write.
    changed: Arc<tokio::sync::Notify>,
    /// When the feed's reader last removed expired conversations (epoch ms).
    last_expiry_sweep: i64,
}

impl Tables {
    /// The revision check of `ConversationStore::update_conversation`, without writing.
    fn check_revision(&self, conversation: &Conversation) -> Result<(), StoreError> {
        match self
            .conversations
            .get(&key(&conversation.account_id, &conversation.id))
        {
            Some(stored) if stored.revision + 1 == conversation.revision => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }

    fn replace_conversation(&mut self, conversation: &Conversation) {
        // A running conversation never carries an expiry (#32 item 5), as in DynamoDB.
        let conversation = Conversation {
            expires_at: domain::retention::stored_expiry(conversation),
            ..conversation.clone()
        };
        self.write_conversation_item(conversation);
    }

    /// Writes the item as given, like DynamoDB's `UpdateItem` of `set_expiry` (which sets the
    /// attribute without the rest of the conversation's write path).
    fn write_conversation_item(&mut self, conversation: Conversation) {
        let before = self.conversations.insert(
            key(&conversation.account_id, &conversation.id),
            conversation.clone(),
        );
        self.record_change(StoredChange {
            before: before.map(|c| Stored::Conversation(Box::new(c))),
            after: Some(Stored::Conversation(Box::new(conversation))),
        });
    }

    /// Stores a message under its seq (the caller checked the seq is free).
    fn insert_message(&mut self, message: &Message) {
        self.messages
            .entry(key(&message.account_id, &message.conversation_id))
            .or_default()
            .insert(message.seq, message.clone());
        self.record_change(StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(message.clone()))),
        });
    }

    /// Appends to the change log; like a stream's retention, the oldest changes go first when
    /// nobody reads them.
    fn record_change(&mut self, change: StoredChange) {
        if self.changes.len() >= MAX_UNREAD_CHANGES {
            self.changes.pop_front();
        }
        self.changes.push_back(change);
        self.changed.notify_one();
    }

    fn offer_key(offer: &Offer) -> (String, String, String) {
        (
            offer.account_id.clone(),
            offer.agent_id.clone(),
            offer.conversation_id.clone(),
        )
    }

    fn waiting_key(entry: &WaitingEntry) -> (String, String) {
        (entry.account_id.clone(), entry.sort_key())
    }
}

/// Changes kept for a feed nobody reads (a stream keeps 24 hours).
const MAX_UNREAD_CHANGES: usize = 100_000;

/// All tables behind one lock: every operation is atomic, as the conditional writes of the
/// DynamoDB adapter are.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Tables>, StoreError> {
        self.tables
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }

    /// Replaces the stored settings document without audit (test set-up only).
    pub fn put_settings_document(
        &self,
        account_id: &str,
        document: serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let version = tables.settings.get(account_id).map_or(0, |s| s.version) + 1;
        tables.settings.insert(
            account_id.into(),
            StoredSettings {
                version,
                document,
                last_hash: GENESIS_HASH.into(),
            },
        );
        Ok(())
    }
}

fn key(account_id: &str, conversation_id: &str) -> ConversationKey {
    (account_id.to_string(), conversation_id.to_string())
}
