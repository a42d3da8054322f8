//! In-memory adapters: the local gateway's default backend and the fast unit-test backend.
//! Same semantics as the AWS adapters (checked by the shared contract suite).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::new_id;
use crate::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use crate::ports::{
    AccountStore, ConversationStore, MessageStore, Queue, ReceivedMessage, SettingsStore,
    StoredSettings,
};
use crate::rules::is_active_live_chat;
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
        let k = key(&conversation.account_id, &conversation.id);
        match tables.conversations.get(&k) {
            Some(stored) if stored.revision + 1 == conversation.revision => {
                tables.conversations.insert(k, conversation.clone());
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError> {
        let mut tables = self.lock()?;
        let conversation = key(&message.account_id, &message.conversation_id);
        let idem_key = (
            message.account_id.clone(),
            message.conversation_id.clone(),
            message.author_id.clone(),
            message.client_message_id.clone(),
        );
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
