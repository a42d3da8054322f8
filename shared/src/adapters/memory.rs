//! In-memory adapters: the local gateway's default backend and the fast unit-test backend.
//! Same semantics as the AWS adapters (checked by the shared contract suite).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::attachments::{Attachment, AttachmentStatus};
use crate::error::StoreError;
use crate::ids::new_id;
use crate::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use crate::ports::{
    AccountStore, AttachmentStore, ConversationStore, MessageStore, ObjectStore, Queue,
    ReceivedMessage, RoutingStore, SessionStore, SettingsStore, StoredSettings, UploadTarget,
};
use crate::routing::{Agent, AgentProfileChange, AgentStatus, Offer, WaitingEntry};
use crate::rules::is_active_live_chat;
use crate::sessions::{CsatRequest, SessionChange};
use crate::settings::{AuditEntry, EffectJob, WorkspaceFacts, GENESIS_HASH};

type ConversationKey = (String, String);

#[derive(Default)]
struct Tables {
    accounts: HashMap<String, Account>,
    keys: HashMap<(String, String), SigningKey>,
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
    /// (account, conversation, session) → CSAT request (the outbox of R6)
    csat: BTreeMap<(String, String, u32), CsatRequest>,
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
        self.conversations.insert(
            key(&conversation.account_id, &conversation.id),
            conversation.clone(),
        );
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

#[async_trait]
impl AccountStore for MemoryStore {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.lock()?
            .accounts
            .insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.lock()?.accounts.get(account_id).cloned())
    }

    async fn put_signing_key(&self, signing_key: &SigningKey) -> Result<(), StoreError> {
        self.lock()?.keys.insert(
            (signing_key.account_id.clone(), signing_key.kid.clone()),
            signing_key.clone(),
        );
        Ok(())
    }

    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        Ok(self
            .lock()?
            .keys
            .get(&(account_id.to_string(), kid.to_string()))
            .cloned())
    }
}

fn effect_key(job: &EffectJob) -> (String, u64, String) {
    (
        job.account_id.clone(),
        job.version,
        job.effect.as_str().to_string(),
    )
}

#[async_trait]
impl RoutingStore for MemoryStore {
    async fn get_agent(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Option<Agent>, StoreError> {
        Ok(self.lock()?.agents.get(&key(account_id, agent_id)).cloned())
    }

    async fn list_agents(&self, account_id: &str) -> Result<Vec<Agent>, StoreError> {
        Ok(self
            .lock()?
            .agents
            .values()
            .filter(|a| a.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn update_agent_profile(
        &self,
        account_id: &str,
        agent_id: &str,
        change: &AgentProfileChange,
        now: i64,
    ) -> Result<Agent, StoreError> {
        let mut tables = self.lock()?;
        let agent = tables
            .agents
            .entry(key(account_id, agent_id))
            .or_insert_with(|| Agent::new(account_id, agent_id, now));
        if let Some(status) = change.status {
            agent.status = status;
        }
        if let Some((messaging, email)) = change.capacity {
            agent.cap_messaging = messaging;
            agent.cap_email = email;
        }
        if let Some(groups) = &change.groups {
            agent.groups = groups.clone();
        }
        agent.updated_at = now;
        Ok(agent.clone())
    }

    async fn list_waiting(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError> {
        Ok(self
            .lock()?
            .waiting
            .range((account_id.to_string(), String::new())..)
            .take_while(|((account, _), _)| account == account_id)
            .take(limit)
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    async fn put_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.lock()?
            .waiting
            .insert(Tables::waiting_key(entry), entry.clone());
        Ok(())
    }

    async fn remove_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.lock()?.waiting.remove(&Tables::waiting_key(entry));
        Ok(())
    }

    async fn list_offers(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Vec<Offer>, StoreError> {
        Ok(self
            .lock()?
            .offers
            .values()
            .filter(|o| o.account_id == account_id && o.agent_id == agent_id)
            .cloned()
            .collect())
    }

    async fn make_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        let agent = tables
            .agents
            .get_mut(&key(&offer.account_id, &offer.agent_id))
            .ok_or(StoreError::Conflict)?;
        if agent.status != AgentStatus::Online || agent.spare(offer.channel) == 0 {
            return Err(StoreError::Conflict);
        }
        *agent.load_mut(offer.channel) += 1;
        agent.last_offered_at = offer.offered_at;
        tables.replace_conversation(conversation);
        tables
            .offers
            .insert(Tables::offer_key(offer), offer.clone());
        tables.waiting.remove(&Tables::waiting_key(waiting));
        Ok(())
    }

    async fn accept_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        tables.replace_conversation(conversation);
        tables.offers.remove(&Tables::offer_key(offer));
        Ok(())
    }

    async fn withdraw_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        let agent = tables
            .agents
            .get_mut(&key(&offer.account_id, &offer.agent_id))
            .ok_or(StoreError::Conflict)?;
        let load = agent.load_mut(offer.channel);
        *load = load.checked_sub(1).ok_or(StoreError::Conflict)?;
        tables.replace_conversation(conversation);
        tables.offers.remove(&Tables::offer_key(offer));
        tables
            .waiting
            .insert(Tables::waiting_key(waiting), waiting.clone());
        Ok(())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn commit_session_change(
        &self,
        change: &SessionChange,
    ) -> Result<Option<Message>, StoreError> {
        let mut tables = self.lock()?;
        let conversation = &change.conversation;
        tables.check_revision(conversation)?;
        let conversation_key = key(&conversation.account_id, &conversation.id);
        // Every condition is checked before anything is written.
        let notice = match &change.notice {
            Some(notice) => {
                let idem_key = idempotency_key(notice);
                if tables.idempotency.contains_key(&idem_key) {
                    return Err(StoreError::Conflict);
                }
                let last = tables
                    .messages
                    .get(&conversation_key)
                    .and_then(|m| m.keys().next_back().copied())
                    .unwrap_or(0);
                let mut stored = notice.clone();
                stored.seq = last + 1;
                Some((idem_key, stored))
            }
            None => None,
        };
        if let Some(csat) = &change.csat {
            if tables.csat.contains_key(&csat_key(csat)) {
                return Err(StoreError::Conflict);
            }
        }
        let agent = match &change.capacity {
            Some(release) => {
                let agent_key = key(&conversation.account_id, &release.agent_id);
                let mut agent = tables
                    .agents
                    .get(&agent_key)
                    .cloned()
                    .ok_or(StoreError::Conflict)?;
                let load = agent.load_mut(release.from);
                *load = load.checked_sub(1).ok_or(StoreError::Conflict)?;
                if let Some(to) = release.to {
                    if to == release.from {
                        return Err(StoreError::Internal(
                            "capacity moved onto its own channel".into(),
                        ));
                    }
                    if agent.spare(to) == 0 {
                        return Err(StoreError::Conflict);
                    }
                    *agent.load_mut(to) += 1;
                }
                Some((agent_key, agent))
            }
            None => None,
        };
        tables.replace_conversation(conversation);
        let stored_notice = notice.map(|(idem_key, stored)| {
            tables.idempotency.insert(idem_key, stored.seq);
            tables
                .messages
                .entry(conversation_key)
                .or_default()
                .insert(stored.seq, stored.clone());
            stored
        });
        if let Some(csat) = &change.csat {
            tables.csat.insert(csat_key(csat), csat.clone());
        }
        if let Some((agent_key, agent)) = agent {
            tables.agents.insert(agent_key, agent);
        }
        if let Some(offer) = &change.withdrawn_offer {
            tables.offers.remove(&Tables::offer_key(offer));
        }
        if let Some(entry) = &change.left_waiting {
            tables.waiting.remove(&Tables::waiting_key(entry));
        }
        Ok(stored_notice)
    }

    async fn list_csat_requests(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .csat
            .range((account_id.to_string(), String::new(), 0)..)
            .take_while(|((account, _, _), _)| account == account_id)
            .take(limit)
            .map(|(_, request)| request.clone())
            .collect())
    }
}

fn csat_key(request: &CsatRequest) -> (String, String, u32) {
    (
        request.account_id.clone(),
        request.conversation_id.clone(),
        request.session_no,
    )
}

fn idempotency_key(message: &Message) -> (String, String, String, String) {
    (
        message.account_id.clone(),
        message.conversation_id.clone(),
        message.author_id.clone(),
        message.client_message_id.clone(),
    )
}

#[async_trait]
impl AttachmentStore for MemoryStore {
    async fn create_attachment(&self, attachment: &Attachment) -> Result<(), StoreError> {
        let key = (
            attachment.account_id.clone(),
            attachment.conversation_id.clone(),
            attachment.id.clone(),
        );
        let mut tables = self.lock()?;
        if tables.attachments.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        tables.attachments.insert(key, attachment.clone());
        Ok(())
    }

    async fn get_attachment(
        &self,
        account_id: &str,
        conversation_id: &str,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        let key = (
            account_id.into(),
            conversation_id.into(),
            attachment_id.into(),
        );
        Ok(self.lock()?.attachments.get(&key).cloned())
    }

    async fn decide_attachment(&self, decided: &Attachment) -> Result<Attachment, StoreError> {
        let key = (
            decided.account_id.clone(),
            decided.conversation_id.clone(),
            decided.id.clone(),
        );
        let mut tables = self.lock()?;
        match tables.attachments.get_mut(&key) {
            Some(stored) if stored.status == AttachmentStatus::Pending => {
                *stored = decided.clone();
                Ok(decided.clone())
            }
            Some(stored) => Ok(stored.clone()),
            None => Err(StoreError::Internal(
                "attachment decided but not admitted".into(),
            )),
        }
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_settings(&self, account_id: &str) -> Result<Option<StoredSettings>, StoreError> {
        Ok(self.lock()?.settings.get(account_id).cloned())
    }

    async fn commit_settings(
        &self,
        account_id: &str,
        expected_version: u64,
        settings: &StoredSettings,
        audit: &AuditEntry,
        effects: &[EffectJob],
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let current = tables.settings.get(account_id).map_or(0, |s| s.version);
        if current != expected_version {
            return Err(StoreError::Conflict);
        }
        tables
            .settings
            .insert(account_id.to_string(), settings.clone());
        tables
            .audit
            .entry(account_id.to_string())
            .or_default()
            .insert(audit.version, audit.clone());
        for job in effects {
            tables.outbox.insert(effect_key(job), job.clone());
        }
        Ok(())
    }

    async fn list_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .lock()?
            .audit
            .get(account_id)
            .map(|entries| {
                entries
                    .range(after_version.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, e)| e.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn pending_effects(&self, account_id: &str) -> Result<Vec<EffectJob>, StoreError> {
        Ok(self
            .lock()?
            .outbox
            .values()
            .filter(|job| job.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn complete_effect(&self, job: &EffectJob) -> Result<(), StoreError> {
        self.lock()?.outbox.remove(&effect_key(job));
        Ok(())
    }

    async fn get_workspace_facts(&self, account_id: &str) -> Result<WorkspaceFacts, StoreError> {
        Ok(self
            .lock()?
            .facts
            .get(account_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_workspace_facts(
        &self,
        account_id: &str,
        facts: &WorkspaceFacts,
    ) -> Result<(), StoreError> {
        self.lock()?
            .facts
            .insert(account_id.to_string(), facts.clone());
        Ok(())
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let k = key(&conversation.account_id, &conversation.id);
        if tables.conversations.contains_key(&k) {
            return Err(StoreError::AlreadyExists);
        }
        tables.conversations.insert(k, conversation.clone());
        Ok(())
    }

    async fn get_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .lock()?
            .conversations
            .get(&key(account_id, conversation_id))
            .cloned())
    }

    async fn list_conversations_for_user(
        &self,
        account_id: &str,
        owner_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let tables = self.lock()?;
        let mut mine: Vec<Conversation> = tables
            .conversations
            .values()
            .filter(|c| c.account_id == account_id && c.owner_id == owner_id)
            .cloned()
            .collect();
        // Same order as the DynamoDB index: created_at, then id, descending.
        mine.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        mine.truncate(limit);
        Ok(mine)
    }

    async fn list_active_live_chats(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let tables = self.lock()?;
        let mut live: Vec<Conversation> = tables
            .conversations
            .values()
            .filter(|c| c.account_id == account_id && is_active_live_chat(c))
            .cloned()
            .collect();
        live.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        live.truncate(limit);
        Ok(live)
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        tables.replace_conversation(conversation);
        Ok(())
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError> {
        let mut tables = self.lock()?;
        let conversation = key(&message.account_id, &message.conversation_id);
        let idem_key = idempotency_key(message);
        if let Some(seq) = tables.idempotency.get(&idem_key).copied() {
            let existing = tables
                .messages
                .get(&conversation)
                .and_then(|m| m.get(&seq))
                .cloned()
                .ok_or_else(|| StoreError::Internal("idempotency record without message".into()))?;
            return Ok(AppendOutcome::Existing(existing));
        }
        let messages = tables.messages.entry(conversation).or_default();
        let seq = messages.keys().next_back().copied().unwrap_or(0) + 1;
        let mut stored = message.clone();
        stored.seq = seq;
        messages.insert(seq, stored.clone());
        tables.idempotency.insert(idem_key, seq);
        Ok(AppendOutcome::Created(stored))
    }

    async fn find_message(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let tables = self.lock()?;
        let idem_key = (
            account_id.to_string(),
            conversation_id.to_string(),
            author_id.to_string(),
            client_message_id.to_string(),
        );
        Ok(tables.idempotency.get(&idem_key).and_then(|seq| {
            tables
                .messages
                .get(&key(account_id, conversation_id))
                .and_then(|m| m.get(seq))
                .cloned()
        }))
    }

    async fn list_messages(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .messages
            .get(&key(account_id, conversation_id))
            .map(|m| {
                m.range(after_seq.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, msg)| msg.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn last_seq(&self, account_id: &str, conversation_id: &str) -> Result<u64, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .messages
            .get(&key(account_id, conversation_id))
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0))
    }
}

/// Waiting messages, and the bodies moved to the dead-letter list.
#[derive(Default)]
struct QueueState {
    waiting: VecDeque<QueuedMessage>,
    dead: Vec<String>,
}

struct QueuedMessage {
    message_id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

/// An in-memory queue with SQS's delivery semantics: delays, visibility timeouts, receive
/// counts and a dead-letter list after `max_receive_count` receives.
pub struct MemoryQueue {
    visibility_timeout: Duration,
    max_receive_count: u32,
    state: Mutex<QueueState>,
}

impl MemoryQueue {
    pub fn new(visibility_timeout: Duration, max_receive_count: u32) -> Self {
        Self {
            visibility_timeout,
            max_receive_count,
            state: Mutex::new(QueueState::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, QueueState>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Internal("memory queue lock poisoned".into()))
    }

    /// Bodies moved to the dead-letter list.
    pub fn dead_letters(&self) -> Vec<String> {
        self.lock().map(|s| s.dead.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, body: &str, delay_seconds: u32) -> Result<(), StoreError> {
        self.lock()?.waiting.push_back(QueuedMessage {
            message_id: new_id("q"),
            body: body.to_string(),
            visible_at: Instant::now() + Duration::from_secs(u64::from(delay_seconds.min(900))),
            receive_count: 0,
            receipt: None,
        });
        Ok(())
    }

    async fn receive(&self, max: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        let mut guard = self.lock()?;
        let QueueState {
            waiting: queue,
            dead,
        } = &mut *guard;
        let now = Instant::now();
        // Messages received too often go to the dead-letter list, as SQS's redrive policy does.
        let max_receives = self.max_receive_count;
        queue.retain(|m| {
            let exhausted = m.receive_count >= max_receives && m.visible_at <= now;
            if exhausted {
                dead.push(m.body.clone());
            }
            !exhausted
        });
        let mut out = Vec::new();
        for m in queue.iter_mut() {
            if out.len() as u32 >= max.clamp(1, 10) {
                break;
            }
            if m.visible_at <= now {
                m.receive_count += 1;
                m.visible_at = now + self.visibility_timeout;
                let receipt = new_id("r");
                m.receipt = Some(receipt.clone());
                out.push(ReceivedMessage {
                    message_id: m.message_id.clone(),
                    receipt,
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                });
            }
        }
        Ok(out)
    }

    async fn acknowledge(&self, receipt: &str) -> Result<(), StoreError> {
        self.lock()?
            .waiting
            .retain(|m| m.receipt.as_deref() != Some(receipt));
        Ok(())
    }
}

/// The in-memory attachments bucket. Its upload and download URLs point at the local gateway
/// (`/_local/objects/…`), signed with a per-process secret and checked there the way S3 checks
/// its own: signature, expiry, size limit. Every stored object is announced on `events` in
/// S3's notification format, as the real bucket's notification to SQS does.
pub struct MemoryObjects {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    base_url: Mutex<String>,
    secret: String,
    events: Arc<dyn Queue>,
}

/// What a presigned local URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalGrant {
    Upload {
        max_bytes: u64,
    },
    Download {
        disposition: String,
        content_type: String,
    },
}

/// Path prefix of the object URLs the gateway serves in memory mode.
pub const LOCAL_OBJECTS_PATH: &str = "/_local/objects/";

impl MemoryObjects {
    pub fn new(events: Arc<dyn Queue>) -> Self {
        Self {
            objects: Mutex::new(HashMap::new()),
            base_url: Mutex::new("http://127.0.0.1:3000".into()),
            secret: new_id("local-secret"),
            events,
        }
    }

    /// Where the gateway serving `/_local/objects/` listens (set once it has bound its port).
    pub fn set_base_url(&self, base_url: &str) {
        if let Ok(mut guard) = self.base_url.lock() {
            *guard = base_url.trim_end_matches('/').to_string();
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>>, StoreError> {
        self.objects
            .lock()
            .map_err(|_| StoreError::Internal("memory objects lock poisoned".into()))
    }

    fn signed_url(&self, key: &str, params: Vec<(&str, String)>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &params {
            query.append_pair(name, value);
        }
        let unsigned = query.finish();
        let signature = hex::encode(self.url_mac(key, &unsigned).finalize().into_bytes());
        let base = self.base_url.lock().map(|b| b.clone()).unwrap_or_default();
        format!("{base}{LOCAL_OBJECTS_PATH}{key}?{unsigned}&sig={signature}")
    }

    fn url_mac(&self, key: &str, unsigned_query: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(key.as_bytes());
        mac.update(b"?");
        mac.update(unsigned_query.as_bytes());
        mac
    }

    /// Checks a local object URL (`key` and its raw query string) as S3 checks a presigned one.
    pub fn verify(&self, key: &str, raw_query: &str, now_ms: i64) -> Option<LocalGrant> {
        let (unsigned, signature) = raw_query.rsplit_once("&sig=")?;
        let signature = hex::decode(signature).ok()?;
        // Constant-time comparison.
        self.url_mac(key, unsigned).verify_slice(&signature).ok()?;
        let params: HashMap<String, String> = form_urlencoded::parse(unsigned.as_bytes())
            .into_owned()
            .collect();
        let expires: i64 = params.get("expires")?.parse().ok()?;
        if expires < now_ms {
            return None;
        }
        match params.get("op")?.as_str() {
            "upload" => Some(LocalGrant::Upload {
                max_bytes: params.get("max")?.parse().ok()?,
            }),
            "download" => Some(LocalGrant::Download {
                disposition: params.get("disposition")?.clone(),
                content_type: params.get("type")?.clone(),
            }),
            _ => None,
        }
    }

    /// Stores an uploaded body and announces it (the gateway checked the grant).
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let size = body.len();
        self.lock()?.insert(key.to_string(), body);
        let event =
            crate::attachments::object_created_event("relay-attachments-local", key, size as u64);
        self.events.send(&event, 0).await
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.get(key).cloned())
    }
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl_secs: u64,
    ) -> Result<UploadTarget, StoreError> {
        let expires_at = crate::now_ms() + (ttl_secs as i64) * 1000;
        let url = self.signed_url(
            key,
            vec![
                ("op", "upload".into()),
                ("max", max_bytes.to_string()),
                ("expires", expires_at.to_string()),
            ],
        );
        Ok(UploadTarget {
            method: "PUT".into(),
            url,
            fields: Vec::new(),
            headers: vec![("content-type".into(), content_type.into())],
            expires_at,
        })
    }

    async fn object_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.lock()?.get(key).map(|o| o.len() as u64))
    }

    async fn read_prefix(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, StoreError> {
        let objects = self.lock()?;
        let object = objects
            .get(key)
            .ok_or_else(|| StoreError::Internal(format!("no object {key}")))?;
        Ok(object[..object.len().min(max_bytes as usize)].to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.remove(key);
        Ok(())
    }

    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        ttl_secs: u64,
    ) -> Result<String, StoreError> {
        let expires_at = crate::now_ms() + (ttl_secs as i64) * 1000;
        Ok(self.signed_url(
            key,
            vec![
                ("op", "download".into()),
                (
                    "disposition",
                    crate::attachments::content_disposition(file_name),
                ),
                ("type", content_type.into()),
                ("expires", expires_at.to_string()),
            ],
        ))
    }
}
