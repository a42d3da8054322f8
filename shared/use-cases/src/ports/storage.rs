//! The storage ports: one trait per aggregate, and `Store`, all of them as one object.

use async_trait::async_trait;

use crate::error::StoreError;
use domain::attachments::Attachment;
use domain::integrations::Integration;
use domain::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use domain::realtime::{Listener, PushCursor};
use domain::retention::Purged;
use domain::routing::{Agent, AgentProfileChange, Offer, WaitingEntry};
use domain::sessions::{CsatRequest, SessionChange};
use domain::settings::{AuditEntry, EffectJob, WorkspaceFacts};
use domain::webhooks::{DeliveryAttempt, Subscription, WebhookSecret};
use domain::workspace::HistoryEntry;

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
    /// The account's signing keys (the widget's visitor key included), in kid order.
    async fn list_signing_keys(&self, account_id: &str) -> Result<Vec<SigningKey>, StoreError>;
    /// Deletes a signing key; `false` when there was none of that kid.
    async fn delete_signing_key(&self, account_id: &str, kid: &str) -> Result<bool, StoreError>;
    /// Stores `key` unless its account already has a key of that kid; either way returns the
    /// key that is stored now (two racing creators end up signing with the same secret).
    async fn create_signing_key_if_absent(
        &self,
        key: &SigningKey,
    ) -> Result<SigningKey, StoreError>;
    /// Counts one more widget visitor from `source` (an IP address) for the account in the
    /// rate window `[window_start_ms, window_end_ms)`, and returns the window's count so far
    /// (this one included). A window's counters expire after it.
    async fn count_visitor_signup(
        &self,
        account_id: &str,
        source: &str,
        (window_start_ms, window_end_ms): (i64, i64),
    ) -> Result<u32, StoreError>;
    /// Adds `charge`'s amounts to its caller's counters of the window, atomically, unless a
    /// counter would pass its limit: `true` when charged, `false` (nothing written) when the
    /// quota is used up (R33). Counters expire after their window.
    async fn charge_quota(&self, charge: &domain::quotas::QuotaCharge) -> Result<bool, StoreError>;
}

/// An account's integrations (spec "Integrations"): stored by the hash of their key.
#[async_trait]
pub trait IntegrationStore: Send + Sync {
    /// Stores a new integration (its id is fresh, so nothing is replaced).
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    async fn get_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<Option<Integration>, StoreError>;
    /// The account's integrations, oldest first.
    async fn list_integrations(&self, account_id: &str) -> Result<Vec<Integration>, StoreError>;
    /// Removes it; `false` when there was none.
    async fn delete_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<bool, StoreError>;
    /// Writes down a use at `at` (`last_used_at`); nothing for an integration deleted
    /// meanwhile (a revoked key is never brought back).
    async fn record_integration_use(
        &self,
        account_id: &str,
        integration_id: &str,
        at: i64,
    ) -> Result<(), StoreError>;
}

/// An account's webhook subscriptions and their delivery log (spec "Integrations", R29).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new subscription and, apart from it, the secret that signs its deliveries.
    async fn create_subscription(
        &self,
        subscription: &Subscription,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError>;
    /// The secret of a subscription of the account (only the delivery reads it).
    async fn subscription_secret(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<WebhookSecret>, StoreError>;
    async fn get_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<Subscription>, StoreError>;
    /// The account's subscriptions, oldest first.
    async fn list_subscriptions(&self, account_id: &str) -> Result<Vec<Subscription>, StoreError>;
    /// Removes it and its secret (its delivery log expires on its own); `false` when there was
    /// none.
    async fn delete_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<bool, StoreError>;
    /// Writes an attempt down in the subscription's delivery log (kept 30 days).
    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError>;
    /// The subscription's latest attempts, newest first.
    async fn list_attempts(
        &self,
        account_id: &str,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
    /// After an event was delivered (`delivered`) or dead-lettered: the runs of failures (of
    /// events and of attempts) start over, or grows by one and disables the subscription at `disable_after` (its
    /// `disabled_at` becomes `now`). The subscription as it is now; `None` if it is gone.
    async fn record_outcome(
        &self,
        account_id: &str,
        subscription_id: &str,
        delivered: bool,
        disable_after: u32,
        now: i64,
    ) -> Result<Option<Subscription>, StoreError>;
    /// After an attempt failed: the run of failed attempts grows by one; at `pause_after` it
    /// starts over and the subscription is paused until `pause_until` (epoch ms). The
    /// subscription as it is now; `None` if it is gone. (A delivered event resets the run,
    /// `record_outcome`.)
    async fn record_failed_attempt(
        &self,
        account_id: &str,
        subscription_id: &str,
        pause_after: u32,
        pause_until: i64,
    ) -> Result<Option<Subscription>, StoreError>;
}

/// Sends a webhook delivery: `POST url` with `body` and `headers`. `Ok(status)` when the
/// receiver answered (any status); `Err(why)` when it did not (refused address, DNS, timeout,
/// connection). Redirects are not followed.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn post(
        &self,
        url: &str,
        body: &str,
        headers: &[(&'static str, String)],
    ) -> Result<u16, String>;
}

/// An account's stored settings: the sparse document (see `domain::settings`), its version and
/// the hash of the latest audit entry (the next entry's `prev_hash`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredSettings {
    pub version: u64,
    pub document: serde_json::Value,
    pub last_hash: String,
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get_settings(&self, account_id: &str) -> Result<Option<StoredSettings>, StoreError>;
    /// In one atomic step: stores `settings` (whose version must be `expected_version + 1`)
    /// only if the stored version is still `expected_version` (0: nothing stored yet), appends
    /// `audit`, and records `effects` in the outbox. `Conflict` when another change won.
    async fn commit_settings(
        &self,
        account_id: &str,
        expected_version: u64,
        settings: &StoredSettings,
        audit: &AuditEntry,
        effects: &[EffectJob],
    ) -> Result<(), StoreError>;
    /// Audit entries with `version > after_version`, oldest first, at most `limit`.
    async fn list_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Side effects recorded by committed changes and not yet completed.
    async fn pending_effects(&self, account_id: &str) -> Result<Vec<EffectJob>, StoreError>;
    /// Marks an effect done (idempotent).
    async fn complete_effect(&self, job: &EffectJob) -> Result<(), StoreError>;
    /// Groups, departments and help-center facts (R1, R11); defaults when never written.
    async fn get_workspace_facts(&self, account_id: &str) -> Result<WorkspaceFacts, StoreError>;
    async fn put_workspace_facts(
        &self,
        account_id: &str,
        facts: &WorkspaceFacts,
    ) -> Result<(), StoreError>;
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
    /// Up to `limit` conversations of the account on the `chat` channel whose session is
    /// active (R3). Ending them removes them from this list.
    async fn list_active_live_chats(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Replaces the conversation if its stored revision is still `conversation.revision - 1`;
    /// `Conflict` otherwise (someone else wrote first: re-read and re-apply).
    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;
    /// Sets the conversation's `expires_at` (the table's TTL), or removes it with `None`, if
    /// its revision is still `revision`; the revision does not move (nobody sees the change).
    /// Answers whether it was set: a newer revision is judged again from its own change.
    async fn set_expiry(
        &self,
        account_id: &str,
        conversation_id: &str,
        revision: u64,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError>;
    /// Deletes what is left of a conversation whose item expired: its messages, idempotency
    /// records, attachment records, history and satisfaction records (files are purged apart,
    /// `attachments::FilePurge`). Deletes about `max_items` at most (a page may go over by its
    /// own size), so a purge larger than one invocation continues in the next call (#32 item
    /// 4); answers how many went and whether nothing is left. Running it again finds none.
    async fn purge_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
        max_items: usize,
    ) -> Result<Purged, StoreError>;
    /// A message stored at `at`: the conversation's `last_message_at` moves forward to it and
    /// its revision goes up (so a writer holding an older read re-reads); nothing happens when
    /// it is already at or past `at`, or the conversation is gone.
    async fn touch_activity(
        &self,
        account_id: &str,
        conversation_id: &str,
        at: i64,
    ) -> Result<(), StoreError>;
    /// One page of an activity-ordered inbox view (newest activity first): conversations
    /// whose `workspace::activity_key` is below `before` (from the start when `None`).
    async fn list_by_activity(
        &self,
        account_id: &str,
        view: ActivityView<'_>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;
}

/// The activity-ordered views of the inbox, each served by its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityView<'a> {
    /// Open tickets assigned to this agent (`workspace::mine_view_owner`).
    AssignedTo(&'a str),
    /// Every conversation of the account.
    All,
}

/// A ticket's history of field changes (who, when, before, after).
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Records entries; recording the same (conversation, revision, field) again is harmless.
    async fn record_history(&self, entries: &[HistoryEntry]) -> Result<(), StoreError>;
    /// The conversation's entries after revision `after_revision`, oldest first, at most `limit`.
    async fn list_history(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_revision: u64,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Appends `message` with the next sequence number of its conversation. A non-zero `seq`
    /// is only where to start looking: it must be one past a seq read from this store (e.g.
    /// `last_seq` read alongside the conversation); 0 lets the store read it. Idempotent on
    /// (`author_id`, `client_message_id`): when that pair was stored before, nothing is
    /// written and the stored message comes back as `Existing`, even if the earlier request
    /// died half-way. Concurrent appends get distinct, gap-free sequence numbers.
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
    /// Replaces the message at `tombstone.seq` by `tombstone` (`messages::redacted`) unless it
    /// is redacted already; answers whether it did (`false`: redacted before, or no message
    /// there). The change stream then reports the message before and after.
    async fn store_redaction(&self, tombstone: &Message) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Records a newly admitted attachment; `AlreadyExists` if the id is taken.
    async fn create_attachment(&self, attachment: &Attachment) -> Result<(), StoreError>;
    async fn get_attachment(
        &self,
        account_id: &str,
        conversation_id: &str,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, StoreError>;
    /// Stores the decision (`clean`/`rejected`) about a pending attachment, once: when it was
    /// already decided, nothing changes and the stored attachment comes back.
    async fn decide_attachment(&self, decided: &Attachment) -> Result<Attachment, StoreError>;
    /// Replaces an admitted attachment's record by its erased form (`attachments::erased`),
    /// whatever its status; `false` when there is no such attachment.
    async fn store_erased_attachment(&self, erased: &Attachment) -> Result<bool, StoreError>;
}

/// Agents, offers and the waiting list. Every method that moves capacity is one atomic step
/// whose conditions keep R24 (load ≤ capacity) and "one conversation, one agent" under any
/// number of concurrent routers: `Conflict` means a condition failed and nothing was written.
#[async_trait]
pub trait RoutingStore: Send + Sync {
    async fn get_agent(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Option<Agent>, StoreError>;
    /// Every agent of the account.
    async fn list_agents(&self, account_id: &str) -> Result<Vec<Agent>, StoreError>;
    /// Creates the agent when missing and applies `change`; its load is never touched.
    async fn update_agent_profile(
        &self,
        account_id: &str,
        agent_id: &str,
        change: &AgentProfileChange,
        now: i64,
    ) -> Result<Agent, StoreError>;
    /// The first `limit` waiting conversations in routing order (priority, then age).
    async fn list_waiting(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError> {
        self.list_waiting_page(account_id, None, None, limit).await
    }
    /// One page of the waiting list in routing order, after sort key `after`: only entries
    /// of `groups` and ungrouped ones when `groups` is given (an agent's `waiting` view).
    async fn list_waiting_page(
        &self,
        account_id: &str,
        groups: Option<&[String]>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError>;
    /// In one step: the conversation is replaced (revision condition) and its waiting entry
    /// moves from `from` to `to` (its priority or group changed).
    async fn move_waiting(
        &self,
        conversation: &Conversation,
        from: &WaitingEntry,
        to: &WaitingEntry,
    ) -> Result<(), StoreError>;
    /// Adds (or keeps) a conversation in the waiting list.
    async fn put_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError>;
    async fn remove_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError>;
    /// The agent's standing offers.
    async fn list_offers(&self, account_id: &str, agent_id: &str)
        -> Result<Vec<Offer>, StoreError>;
    /// In one step: the agent's load on the offer's channel goes up by one, only if the agent
    /// is online and below capacity (and its `last_offered_at` becomes `offered_at`); the
    /// conversation is replaced (revision condition); the offer is recorded; `waiting` leaves
    /// the waiting list.
    async fn make_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError>;
    /// In one step: the conversation is replaced (revision condition) and the offer removed.
    async fn accept_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
    ) -> Result<(), StoreError>;
    /// In one step: the conversation is replaced (revision condition), the offer removed, the
    /// agent's load released, and the conversation put back in the waiting list.
    async fn withdraw_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError>;
}

/// The lifecycle steps of a session (end, close, R3's live-chat ending, a new session), each
/// written as one atomic step, and the CSAT outbox they feed.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Writes everything in `change` or nothing (see [`SessionChange`]); the notice gets the
    /// conversation's next sequence number and comes back as stored. `Conflict` when a
    /// condition failed (the conversation changed, the notice or CSAT request of this session
    /// exists, the agent's load is not there or `to` is full): re-read and re-apply.
    async fn commit_session_change(
        &self,
        change: &SessionChange,
    ) -> Result<Option<Message>, StoreError>;
    /// The account's recorded CSAT requests (the outbox a survey sender consumes), at most
    /// `limit`, ordered by conversation and session.
    async fn list_csat_requests(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError>;
    /// The CSAT request of one session, if R6 recorded one.
    async fn get_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<Option<CsatRequest>, StoreError>;
    /// The conversation's CSAT request of its latest surveyed session.
    async fn latest_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<CsatRequest>, StoreError>;
    /// Stores `rated` (a request with its score) if the request exists and has no score yet;
    /// `Conflict` otherwise, writing nothing. The rating is then listed by its time.
    async fn record_csat_rating(&self, rated: &CsatRequest) -> Result<(), StoreError>;
    /// R34: every CSAT request of the conversation (and its rating, once given) loses the
    /// end user's id and comment (`end_user_id` becomes `erased_as`; the score stays, it is
    /// not about the person). Answers how many requests changed; a second call changes none.
    async fn erase_csat_end_user(
        &self,
        account_id: &str,
        conversation_id: &str,
        erased_as: &str,
    ) -> Result<usize, StoreError>;
    /// The account's ratings given in `[from_ms, to_ms]`, oldest first, at most `limit`.
    async fn list_csat_ratings(
        &self,
        account_id: &str,
        (from_ms, to_ms): (i64, i64),
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError>;
}

/// A live WebSocket connection and whom it serves (R27).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Connection {
    pub id: String,
    pub listener: Listener,
    pub connected_at: i64,
    /// Epoch seconds after which the record is gone (DynamoDB TTL; lookups skip it before).
    pub expires_at: i64,
}

impl Connection {
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at * 1000 > now_ms
    }
}

/// Live connections, indexed by whom they serve and by the conversations they subscribed to.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Records a connection unless its account already holds `max_per_account` live ones
    /// (`false`, nothing written).
    async fn add_connection(
        &self,
        connection: &Connection,
        max_per_account: usize,
    ) -> Result<bool, StoreError>;
    /// The live connection, `None` when unknown or expired.
    async fn get_connection(&self, connection_id: &str) -> Result<Option<Connection>, StoreError>;
    /// Removes a connection and its subscriptions (no error when it is already gone).
    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError>;
    /// The live connections of one listener.
    async fn connections_of(&self, listener: &Listener) -> Result<Vec<Connection>, StoreError>;
    async fn subscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError>;
    async fn unsubscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError>;
    /// The live connections subscribed to a conversation.
    async fn subscribers_of(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<Connection>, StoreError>;
    /// The conversation's push cursor (`realtime::direct`), read consistently; the default
    /// when it has none.
    async fn push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<PushCursor, StoreError>;
    /// Moves the push cursor up to `seq`, pushed to someone or not (`heard`); one already at
    /// or past `seq` stays as it is.
    async fn advance_push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
        seq: u64,
        heard: bool,
    ) -> Result<(), StoreError>;
}

/// Everything a handler needs from storage, as one object.
pub trait Store:
    AccountStore
    + IntegrationStore
    + WebhookStore
    + ConversationStore
    + MessageStore
    + SettingsStore
    + AttachmentStore
    + RoutingStore
    + SessionStore
    + HistoryStore
    + ConnectionStore
    + super::ReportStore
    + super::KnowledgeStore
    + super::MacroStore
    + super::EmailStore
{
}
impl<
        T: AccountStore
            + IntegrationStore
            + WebhookStore
            + ConversationStore
            + MessageStore
            + SettingsStore
            + AttachmentStore
            + RoutingStore
            + SessionStore
            + HistoryStore
            + ConnectionStore
            + super::ReportStore
            + super::KnowledgeStore
            + super::MacroStore
            + super::EmailStore,
    > Store for T
{
}
