//! DynamoDB adapter: one table, keys designed per access pattern (see docs/data-model.md).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | account | `A#{acct}` | `ACCOUNT` |
//! | signing key | `A#{acct}` | `KEY#{kid}` |
//! | settings document | `A#{acct}` | `SETTINGS` |
//! | conversation | `A#{acct}#C#{cid}` | `CONV` (+ `gsi1pk = A#{acct}#U#{owner}`, `gsi1sk = {created_at}#{cid}`) |
//! | message | `A#{acct}#C#{cid}` | `M#{seq:012}` |
//! | idempotency record | `A#{acct}#C#{cid}` | `I#{client_message_id}#{author}` (TTL `expires_at`) |
//! | workspace facts | `A#{acct}` | `WORKSPACE` |
//! | settings outbox | `A#{acct}` | `OUTBOX#{version:012}#{effect}` |
//! | settings audit entry | `A#{acct}#AUDIT` | `V#{version:012}` |
//! | attachment | `A#{acct}#C#{cid}` | `ATT#{aid}` |
//! | agent | `A#{acct}` | `AGENT#{agent}` |
//! | standing offer | `A#{acct}` | `OFFER#{agent}#{cid}` |
//! | waiting conversation | `A#{acct}#WAIT` | `{255-priority:03}#{since:015}#{cid}` |
//! | CSAT request (R6 outbox) | `A#{acct}#CSAT` | `C#{cid}#S{session_no:06}` |
//!
//! Active live chats also carry `gsi2pk = A#{acct}#LIVE` (a sparse index R3 pages through).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::jittered_backoff;
use crate::attachments::Attachment;
use crate::error::StoreError;
use crate::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use crate::ports::{
    AccountStore, AttachmentStore, ConversationStore, MessageStore, RoutingStore, SessionStore,
    SettingsStore, StoredSettings,
};
use crate::routing::{Agent, AgentProfileChange, CapacityChannel, Offer, WaitingEntry};
use crate::rules::{is_active_live_chat, IDEMPOTENCY_RETENTION_SECS};
use crate::sessions::{CapacityRelease, CsatRequest, SessionChange};
use crate::settings::{AuditEntry, EffectJob, WorkspaceFacts};

/// Key attribute names; `infra` defines the table with the same names (checked by a test).
pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const USER_INDEX: &str = "gsi1";
pub const USER_INDEX_PARTITION_KEY: &str = "gsi1pk";
pub const USER_INDEX_SORT_KEY: &str = "gsi1sk";
pub const LIVE_CHAT_INDEX: &str = "gsi2";
pub const LIVE_CHAT_INDEX_PARTITION_KEY: &str = "gsi2pk";
pub const LIVE_CHAT_INDEX_SORT_KEY: &str = "gsi2sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Contending appends retry this often before answering "busy" (each try is one round trip).
const MAX_APPEND_ATTEMPTS: u32 = 60;

type Item = HashMap<String, AttributeValue>;

/// How a transaction ended.
enum Transacted {
    Done,
    /// A condition failed: for each item, whether its condition was the one.
    Cancelled(Vec<bool>),
    /// A concurrent transaction on the same items got in the way; retrying may succeed.
    Contended,
}

/// How a put on condition that the key is free ended.
enum PutIfAbsent {
    Stored,
    /// The key was taken; the item there (absent only if it vanished since).
    Taken(Option<Item>),
}

fn account_pk(account_id: &str) -> String {
    format!("A#{account_id}")
}

fn conversation_pk(account_id: &str, conversation_id: &str) -> String {
    format!("A#{account_id}#C#{conversation_id}")
}

fn message_sk(seq: u64) -> String {
    format!("M#{seq:012}")
}

fn idempotency_sk(client_message_id: &str, author_id: &str) -> String {
    // client_message_id has no '#' (validated), so this key is unambiguous.
    format!("I#{client_message_id}#{author_id}")
}

/// The key of the idempotency record (the claim) of `message`'s author and client id.
fn claim_key(message: &Message) -> (String, String) {
    (
        conversation_pk(&message.account_id, &message.conversation_id),
        idempotency_sk(&message.client_message_id, &message.author_id),
    )
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Maps an SDK failure to the port's error: a failed condition is a `Conflict`; the rest as
/// every adapter maps them (throttling and transport trouble are retryable).
fn store_error<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if error.code() == Some("ConditionalCheckFailedException") {
        return StoreError::Conflict;
    }
    super::sdk_error(&error)
}

fn encode<T: Serialize>(value: &T, pk: String, sk: String) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Internal(format!("item encoding: {e}")))?;
    item.insert(PARTITION_KEY.into(), s(pk));
    item.insert(SORT_KEY.into(), s(sk));
    Ok(item)
}

fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Internal(format!("item decoding: {e}")))
}

fn decode_all<T: DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items.into_iter().map(decode).collect()
}

/// The DynamoDB store over one table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item)
    }

    async fn put(&self, item: Item, condition: Option<&str>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Up to `limit` items of partition `pk` with `from <= sk <= to`, in order, read
    /// consistently.
    async fn query_range(
        &self,
        pk: String,
        from: String,
        to: &str,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start_key = None;
        // DynamoDB pages at 1 MB: follow the pages until `limit` items or the end.
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":from", s(from.clone()))
                .expression_attribute_values(":to", s(to))
                .consistent_read(true)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(store_error)?;
            items.extend(output.items.unwrap_or_default());
            start_key = output.last_evaluated_key;
            if start_key.is_none() || items.len() >= limit {
                return Ok(items);
            }
        }
    }

    /// One page of conversations from a secondary index partition, in sort-key order.
    async fn query_index(
        &self,
        index: &str,
        partition_attribute: &str,
        partition: String,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", partition_attribute)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        decode_all(output.items.unwrap_or_default())
    }

    fn conversation_item(&self, conversation: &Conversation) -> Result<Item, StoreError> {
        let mut item = encode(
            conversation,
            conversation_pk(&conversation.account_id, &conversation.id),
            "CONV".into(),
        )?;
        item.insert(
            USER_INDEX_PARTITION_KEY.into(),
            s(format!(
                "A#{}#U#{}",
                conversation.account_id, conversation.owner_id
            )),
        );
        let created = format!("{:015}#{}", conversation.created_at, conversation.id);
        item.insert(USER_INDEX_SORT_KEY.into(), s(created.clone()));
        // Sparse: only active live chats are in the index, so ending one removes it.
        if is_active_live_chat(conversation) {
            item.insert(
                LIVE_CHAT_INDEX_PARTITION_KEY.into(),
                s(format!("A#{}#LIVE", conversation.account_id)),
            );
            item.insert(LIVE_CHAT_INDEX_SORT_KEY.into(), s(created));
        }
        Ok(item)
    }

    /// A message's idempotency record (claiming its seq) and its slot `M#{seq}`.
    fn message_items(&self, message: &Message) -> Result<(Item, Item), StoreError> {
        let (pk, sk) = claim_key(message);
        let expires_at = crate::now_ms() / 1000 + IDEMPOTENCY_RETENTION_SECS;
        let idempotency: Item = HashMap::from([
            (PARTITION_KEY.into(), s(pk.clone())),
            (SORT_KEY.into(), s(sk)),
            ("seq".into(), AttributeValue::N(message.seq.to_string())),
            (
                TTL_ATTRIBUTE.into(),
                AttributeValue::N(expires_at.to_string()),
            ),
        ]);
        let message_item = encode(message, pk, message_sk(message.seq))?;
        Ok((idempotency, message_item))
    }

    /// Puts `item` on condition that its key is free; a taken key comes back with the item
    /// there (returned with the failure by DynamoDB, read when an emulator leaves it out).
    async fn put_if_absent(&self, item: Item) -> Result<PutIfAbsent, StoreError> {
        let key = (
            item.get(PARTITION_KEY).cloned(),
            item.get(SORT_KEY).cloned(),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(PutIfAbsent::Stored),
            Err(error) => error,
        };
        let returned = match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
            _ => return Err(store_error(error)),
        };
        let occupant = match (returned, key) {
            (Some(item), _) if !item.is_empty() => Some(item),
            (_, (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk)))) => {
                self.get(pk, sk).await?
            }
            _ => None,
        };
        Ok(PutIfAbsent::Taken(occupant))
    }

    /// Moves the claim of `message`'s key from `from` to `to`; when someone else moved it
    /// first, the seq they moved it to.
    async fn move_claim(&self, message: &Message, from: u64, to: u64) -> Result<u64, StoreError> {
        let (pk, sk) = claim_key(message);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression("SET seq = :to")
            .condition_expression("seq = :from")
            .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(to),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item.as_ref().and_then(claimed_seq) {
                        Some(seq) => Ok(seq),
                        // An emulator may not return the item: read the claim.
                        None => self
                            .claim_of(message)
                            .await?
                            .ok_or_else(|| StoreError::Internal("claim vanished".into())),
                    }
                }
                _ => Err(store_error(error)),
            },
        }
    }

    /// The seq the idempotency record of `message`'s key claims, if there is one.
    async fn claim_of(&self, message: &Message) -> Result<Option<u64>, StoreError> {
        let (pk, sk) = claim_key(message);
        Ok(self.get(pk, sk).await?.as_ref().and_then(claimed_seq))
    }

    async fn find_by_key(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let pk = conversation_pk(account_id, conversation_id);
        let Some(record) = self
            .get(pk.clone(), idempotency_sk(client_message_id, author_id))
            .await?
        else {
            return Ok(None);
        };
        let seq = claimed_seq(&record)
            .ok_or_else(|| StoreError::Internal("idempotency record without seq".into()))?;
        // A claim whose message was never written (the request died in between) finds nothing:
        // the next append of the key completes it.
        match self.get(pk, message_sk(seq)).await? {
            Some(item) => {
                let message: Message = decode(item)?;
                Ok(is_same_key(&message, author_id, client_message_id).then_some(message))
            }
            None => Ok(None),
        }
    }
}

fn claimed_seq(record: &Item) -> Option<u64> {
    match record.get("seq") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

fn is_same_key(message: &Message, author_id: &str, client_message_id: &str) -> bool {
    message.author_id == author_id && message.client_message_id == client_message_id
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.put(
            encode(account, account_pk(&account.id), "ACCOUNT".into())?,
            None,
        )
        .await
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        self.get(account_pk(account_id), "ACCOUNT".into())
            .await?
            .map(decode)
            .transpose()
    }

    async fn put_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        self.put(
            encode(key, account_pk(&key.account_id), format!("KEY#{}", key.kid))?,
            None,
        )
        .await
    }

    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        self.get(account_pk(account_id), format!("KEY#{kid}"))
            .await?
            .map(decode)
            .transpose()
    }
}

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        match self
            .put(
                self.conversation_item(conversation)?,
                Some("attribute_not_exists(pk)"),
            )
            .await
        {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other,
        }
    }

    async fn get_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        self.get(conversation_pk(account_id, conversation_id), "CONV".into())
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_conversations_for_user(
        &self,
        account_id: &str,
        owner_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        // Newest first.
        self.query_index(
            USER_INDEX,
            USER_INDEX_PARTITION_KEY,
            format!("A#{account_id}#U#{owner_id}"),
            false,
            limit,
        )
        .await
    }

    async fn list_active_live_chats(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.query_index(
            LIVE_CHAT_INDEX,
            LIVE_CHAT_INDEX_PARTITION_KEY,
            format!("A#{account_id}#LIVE"),
            true,
            limit,
        )
        .await
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let expected = conversation
            .revision
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.conversation_item(conversation)?))
            .condition_expression("#rev = :expected")
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError> {
        // Two single-item conditional puts (one write unit each, where a transaction of the
        // same two items bills four):
        // 1. the idempotency record claims (author, client_message_id) for seq n;
        // 2. the message is put at `M#{n}` on condition that the slot is free.
        // Invariants: a key's message is only ever written at the seq its record claims, and
        // a claim moves away from n only after `M#{n}` was seen holding another message
        // (messages are never deleted), so a key is stored at most once. Every n is chosen as
        // one past a message that exists, so seqs stay gap-free and become visible in order.
        // A request that dies between the two puts leaves a claim its retry completes.
        let mut candidate = message.clone();
        if candidate.seq == 0 {
            candidate.seq = self
                .last_seq(&message.account_id, &message.conversation_id)
                .await?
                + 1;
        }
        let (claim, message_item) = self.message_items(&candidate)?;
        if let PutIfAbsent::Taken(record) = self.put_if_absent(claim).await? {
            match record.as_ref().and_then(claimed_seq) {
                Some(seq) => candidate.seq = seq,
                // The record expired between the two reads: start over.
                None => return Box::pin(self.append_message(message)).await,
            }
        }
        let mut message_item = message_item;
        let mut misses = 0u32;
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            message_item.insert(SORT_KEY.into(), s(message_sk(candidate.seq)));
            message_item.insert("seq".into(), AttributeValue::N(candidate.seq.to_string()));
            let occupant = match self.put_if_absent(message_item.clone()).await? {
                PutIfAbsent::Stored => return Ok(AppendOutcome::Created(candidate)),
                PutIfAbsent::Taken(occupant) => occupant.map(decode::<Message>).transpose()?,
            };
            if let Some(existing) = occupant
                .as_ref()
                .filter(|m| is_same_key(m, &message.author_id, &message.client_message_id))
            {
                // Stored before (an earlier delivery, or a concurrent retry got here first).
                return Ok(AppendOutcome::Existing(existing.clone()));
            }
            // Another message holds this seq: claim the next one. After a few misses in a
            // row (a stale claim, or a busy conversation), jump to one past the last message.
            misses += 1;
            let next = if misses < 4 {
                candidate.seq + 1
            } else {
                tokio::time::sleep(jittered_backoff(attempt)).await;
                misses = 0;
                self.last_seq(&message.account_id, &message.conversation_id)
                    .await?
                    + 1
            };
            candidate.seq = self.move_claim(&candidate, candidate.seq, next).await?;
        }
        Err(StoreError::Unavailable(
            "message sequence contention".into(),
        ))
    }

    async fn find_message(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.find_by_key(account_id, conversation_id, author_id, client_message_id)
            .await
    }

    async fn list_messages(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let items = self
            .query_range(
                conversation_pk(account_id, conversation_id),
                message_sk(after_seq.saturating_add(1)),
                "M#999999999999",
                limit,
            )
            .await?;
        decode_all(items)
    }

    async fn last_seq(&self, account_id: &str, conversation_id: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", s(conversation_pk(account_id, conversation_id)))
            .expression_attribute_values(":m", s("M#"))
            .projection_expression("sk")
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(1)
            .send()
            .await
            .map_err(store_error)?;
        let Some(item) = output.items.unwrap_or_default().into_iter().next() else {
            return Ok(0);
        };
        match item.get(SORT_KEY) {
            Some(AttributeValue::S(sk)) => sk
                .strip_prefix("M#")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::Internal(format!("bad message key {sk}"))),
            _ => Err(StoreError::Internal("message item without sort key".into())),
        }
    }
}

fn json_attribute<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Internal(format!("json encoding: {e}")))
}

fn from_json_attribute<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(text)) => serde_json::from_str(text)
            .map_err(|e| StoreError::Internal(format!("{name} decoding: {e}"))),
        _ => Err(StoreError::Internal(format!("item without {name}"))),
    }
}

fn audit_pk(account_id: &str) -> String {
    format!("A#{account_id}#AUDIT")
}

fn outbox_sk(job: &EffectJob) -> String {
    format!("OUTBOX#{:012}#{}", job.version, job.effect.as_str())
}

impl DynamoStore {
    fn transact_put(
        &self,
        item: Item,
        condition: &str,
        values: Option<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some((name, value)) = values {
            put = put
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(name, value);
        }
        let put = put
            .build()
            .map_err(|e| StoreError::Internal(format!("transaction build: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(&self, account_id: &str) -> Result<Option<StoredSettings>, StoreError> {
        let Some(item) = self.get(account_pk(account_id), "SETTINGS".into()).await? else {
            return Ok(None);
        };
        from_json_attribute(&item, "settings").map(Some)
    }

    async fn commit_settings(
        &self,
        account_id: &str,
        expected_version: u64,
        settings: &StoredSettings,
        audit: &AuditEntry,
        effects: &[EffectJob],
    ) -> Result<(), StoreError> {
        let settings_item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(account_pk(account_id))),
            (SORT_KEY.into(), s("SETTINGS")),
            (
                "version".into(),
                AttributeValue::N(settings.version.to_string()),
            ),
            ("settings".into(), json_attribute(settings)?),
        ]);
        let settings_put = if expected_version == 0 {
            self.transact_put(settings_item, "attribute_not_exists(pk)", None)?
        } else {
            self.transact_put(
                settings_item,
                "#v = :expected",
                Some((":expected", AttributeValue::N(expected_version.to_string()))),
            )?
        };
        let audit_item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(audit_pk(account_id))),
            (SORT_KEY.into(), s(format!("V#{:012}", audit.version))),
            ("entry".into(), json_attribute(audit)?),
        ]);
        let mut items = vec![
            settings_put,
            self.transact_put(audit_item, "attribute_not_exists(pk)", None)?,
        ];
        for job in effects {
            let outbox_item: Item = HashMap::from([
                (PARTITION_KEY.into(), s(account_pk(account_id))),
                (SORT_KEY.into(), s(outbox_sk(job))),
                ("job".into(), json_attribute(job)?),
            ]);
            items.push(self.transact_put(outbox_item, "attribute_not_exists(pk)", None)?);
        }
        // Any failed condition means another change took this version.
        self.transact(items).await
    }

    async fn list_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.query_range(
            audit_pk(account_id),
            format!("V#{:012}", after_version.saturating_add(1)),
            "V#999999999999",
            limit,
        )
        .await?
        .iter()
        .map(|item| from_json_attribute(item, "entry"))
        .collect()
    }

    async fn pending_effects(&self, account_id: &str) -> Result<Vec<EffectJob>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :outbox)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":outbox", s("OUTBOX#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| from_json_attribute(item, "job"))
            .collect()
    }

    async fn complete_effect(&self, job: &EffectJob) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(account_pk(&job.account_id)))
            .key(SORT_KEY, s(outbox_sk(job)))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn get_workspace_facts(&self, account_id: &str) -> Result<WorkspaceFacts, StoreError> {
        match self.get(account_pk(account_id), "WORKSPACE".into()).await? {
            Some(item) => from_json_attribute(&item, "facts"),
            None => Ok(WorkspaceFacts::default()),
        }
    }

    async fn put_workspace_facts(
        &self,
        account_id: &str,
        facts: &WorkspaceFacts,
    ) -> Result<(), StoreError> {
        let item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(account_pk(account_id))),
            (SORT_KEY.into(), s("WORKSPACE")),
            ("facts".into(), json_attribute(facts)?),
        ]);
        self.put(item, None).await
    }
}

fn attachment_sk(attachment_id: &str) -> String {
    format!("ATT#{attachment_id}")
}

#[async_trait]
impl AttachmentStore for DynamoStore {
    async fn create_attachment(&self, attachment: &Attachment) -> Result<(), StoreError> {
        let item = encode(
            attachment,
            conversation_pk(&attachment.account_id, &attachment.conversation_id),
            attachment_sk(&attachment.id),
        )?;
        match self.put(item, Some("attribute_not_exists(pk)")).await {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other,
        }
    }

    async fn get_attachment(
        &self,
        account_id: &str,
        conversation_id: &str,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        self.get(
            conversation_pk(account_id, conversation_id),
            attachment_sk(attachment_id),
        )
        .await?
        .map(decode)
        .transpose()
    }

    async fn decide_attachment(&self, decided: &Attachment) -> Result<Attachment, StoreError> {
        let item = encode(
            decided,
            conversation_pk(&decided.account_id, &decided.conversation_id),
            attachment_sk(&decided.id),
        )?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
            .map_err(store_error);
        match written {
            Ok(_) => Ok(decided.clone()),
            // Decided before (or never admitted): the stored record is the answer.
            Err(StoreError::Conflict) => self
                .get_attachment(&decided.account_id, &decided.conversation_id, &decided.id)
                .await?
                .ok_or_else(|| StoreError::Internal("attachment decided but not admitted".into())),
            Err(other) => Err(other),
        }
    }
}

fn agent_sk(agent_id: &str) -> String {
    format!("AGENT#{agent_id}")
}

fn offer_key(offer: &Offer) -> (String, String) {
    (
        account_pk(&offer.account_id),
        format!("OFFER#{}#{}", offer.agent_id, offer.conversation_id),
    )
}

fn waiting_key(entry: &WaitingEntry) -> (String, String) {
    (format!("A#{}#WAIT", entry.account_id), entry.sort_key())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(format!("transaction build: {e}"))
}

impl DynamoStore {
    /// Runs a transaction; any failed condition (or a concurrent transaction on the same items)
    /// is `Conflict`, and then nothing was written.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self.transact_items(items).await? {
            Transacted::Done => Ok(()),
            Transacted::Cancelled(_) | Transacted::Contended => Err(StoreError::Conflict),
        }
    }

    /// Runs a transaction and tells which conditions failed when it was cancelled.
    async fn transact_items(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transacted, StoreError> {
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Transacted::Done),
            Err(error) => error,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        {
            let failed: Vec<bool> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect();
            return Ok(if failed.contains(&true) {
                Transacted::Cancelled(failed)
            } else {
                // Cancelled by a concurrent transaction on the same items, not by a condition.
                Transacted::Contended
            });
        }
        if error.code() == Some("TransactionConflictException") {
            return Ok(Transacted::Contended);
        }
        Err(store_error(error))
    }

    /// The conversation replaced on condition of the revision it was read at.
    fn conversation_replace(
        &self,
        conversation: &Conversation,
    ) -> Result<TransactWriteItem, StoreError> {
        let expected = conversation
            .revision
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.conversation_item(conversation)?))
            .condition_expression("#rev = :expected")
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn plain_put(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn plain_delete(&self, (pk, sk): (String, String)) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// An update of the agent's load: `expression` over `#l` (the load), `#c` (the capacity)
    /// and `#st` (status), on `condition`.
    fn agent_update(
        &self,
        account_id: &str,
        agent_id: &str,
        expression: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(account_pk(account_id)))
            .key(SORT_KEY, s(agent_sk(agent_id)))
            .update_expression(expression)
            .condition_expression(condition);
        for (name, attribute) in names {
            update = update.expression_attribute_names(*name, *attribute);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build())
    }
}

fn load_attribute(channel: CapacityChannel) -> &'static str {
    match channel {
        CapacityChannel::Messaging => "load_messaging",
        CapacityChannel::Email => "load_email",
    }
}

fn capacity_attribute(channel: CapacityChannel) -> &'static str {
    match channel {
        CapacityChannel::Messaging => "cap_messaging",
        CapacityChannel::Email => "cap_email",
    }
}

#[async_trait]
impl RoutingStore for DynamoStore {
    async fn get_agent(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Option<Agent>, StoreError> {
        self.get(account_pk(account_id), agent_sk(agent_id))
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_agents(&self, account_id: &str) -> Result<Vec<Agent>, StoreError> {
        // Agent ids are token subjects (`A-Za-z0-9-_.@:`), all below `~`.
        decode_all(
            self.query_range(account_pk(account_id), agent_sk(""), "AGENT#~", usize::MAX)
                .await?,
        )
    }

    async fn update_agent_profile(
        &self,
        account_id: &str,
        agent_id: &str,
        change: &AgentProfileChange,
        now: i64,
    ) -> Result<Agent, StoreError> {
        let mut sets = vec![
            "account_id = :account".to_string(),
            "id = :id".to_string(),
            "updated_at = :now".to_string(),
            "load_messaging = if_not_exists(load_messaging, :zero)".to_string(),
            "load_email = if_not_exists(load_email, :zero)".to_string(),
            "last_offered_at = if_not_exists(last_offered_at, :zero)".to_string(),
        ];
        let mut values: Vec<(&str, AttributeValue)> = vec![
            (":account", s(account_id)),
            (":id", s(agent_id)),
            (":now", n(now)),
            (":zero", n(0)),
        ];
        match change.status {
            Some(status) => {
                sets.push("#st = :status".into());
                values.push((":status", s(json_str(&status)?)));
            }
            None => {
                sets.push("#st = if_not_exists(#st, :offline)".into());
                values.push((":offline", s("offline")));
            }
        }
        match change.capacity {
            Some((messaging, email)) => {
                sets.push("cap_messaging = :cm, cap_email = :ce".into());
                values.push((":cm", n(messaging)));
                values.push((":ce", n(email)));
            }
            None => sets.push(
                "cap_messaging = if_not_exists(cap_messaging, :zero), cap_email = if_not_exists(cap_email, :zero)".into(),
            ),
        }
        match &change.groups {
            Some(groups) => {
                sets.push("#groups = :groups".into());
                values.push((
                    ":groups",
                    AttributeValue::L(groups.iter().map(|g| s(g.as_str())).collect()),
                ));
            }
            None => {
                sets.push("#groups = if_not_exists(#groups, :none)".into());
                values.push((":none", AttributeValue::L(Vec::new())));
            }
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(account_pk(account_id)))
            .key(SORT_KEY, s(agent_sk(agent_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#groups", "groups")
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        let output = update.send().await.map_err(store_error)?;
        decode(output.attributes.unwrap_or_default())
    }

    async fn list_waiting(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError> {
        decode_all(
            self.query_range(format!("A#{account_id}#WAIT"), "0".into(), "~", limit)
                .await?,
        )
    }

    async fn put_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        let (pk, sk) = waiting_key(entry);
        self.put(encode(entry, pk, sk)?, None).await
    }

    async fn remove_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        let (pk, sk) = waiting_key(entry);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn list_offers(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Vec<Offer>, StoreError> {
        decode_all(
            self.query_range(
                account_pk(account_id),
                format!("OFFER#{agent_id}#"),
                &format!("OFFER#{agent_id}#~"),
                usize::MAX,
            )
            .await?,
        )
    }

    async fn make_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let (offer_pk, offer_sk) = offer_key(offer);
        self.transact(vec![
            self.agent_update(
                &offer.account_id,
                &offer.agent_id,
                "SET #l = #l + :one, last_offered_at = :at",
                "#st = :online AND #l < #c",
                &[
                    ("#l", load_attribute(offer.channel)),
                    ("#c", capacity_attribute(offer.channel)),
                    ("#st", "status"),
                ],
                vec![
                    (":one", n(1)),
                    (":at", n(offer.offered_at)),
                    (":online", s("online")),
                ],
            )?,
            self.conversation_replace(conversation)?,
            self.plain_put(encode(offer, offer_pk, offer_sk)?)?,
            self.plain_delete(waiting_key(waiting))?,
        ])
        .await
    }

    async fn accept_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            self.conversation_replace(conversation)?,
            self.plain_delete(offer_key(offer))?,
        ])
        .await
    }

    async fn withdraw_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let (pk, sk) = waiting_key(waiting);
        self.transact(vec![
            self.conversation_replace(conversation)?,
            self.capacity_update(
                &offer.account_id,
                &CapacityRelease {
                    agent_id: offer.agent_id.clone(),
                    from: offer.channel,
                    to: None,
                },
            )?,
            self.plain_delete(offer_key(offer))?,
            self.plain_put(encode(waiting, pk, sk)?)?,
        ])
        .await
    }
}

fn csat_key(request: &CsatRequest) -> (String, String) {
    (
        format!("A#{}#CSAT", request.account_id),
        format!("C#{}#S{:06}", request.conversation_id, request.session_no),
    )
}

impl DynamoStore {
    /// The agent's load leaves `release.from` (conditioned on being there) and, when
    /// `release.to` is given, arrives there (conditioned on spare capacity).
    fn capacity_update(
        &self,
        account_id: &str,
        release: &CapacityRelease,
    ) -> Result<TransactWriteItem, StoreError> {
        match release.to {
            Some(to) if to == release.from => Err(StoreError::Internal(
                "capacity moved onto its own channel".into(),
            )),
            Some(to) => self.agent_update(
                account_id,
                &release.agent_id,
                "SET #l = #l - :one, #t = #t + :one",
                "#l > :zero AND #t < #c",
                &[
                    ("#l", load_attribute(release.from)),
                    ("#t", load_attribute(to)),
                    ("#c", capacity_attribute(to)),
                ],
                vec![(":one", n(1)), (":zero", n(0))],
            ),
            None => self.agent_update(
                account_id,
                &release.agent_id,
                "SET #l = #l - :one",
                "#l > :zero",
                &[("#l", load_attribute(release.from))],
                vec![(":one", n(1)), (":zero", n(0))],
            ),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn commit_session_change(
        &self,
        change: &SessionChange,
    ) -> Result<Option<Message>, StoreError> {
        let conversation = &change.conversation;
        let only_the_conversation = change.notice.is_none()
            && change.csat.is_none()
            && change.capacity.is_none()
            && change.withdrawn_offer.is_none()
            && change.left_waiting.is_none();
        if only_the_conversation {
            // A conditional put does it for half the write units of a transaction.
            return self.update_conversation(conversation).await.map(|()| None);
        }
        let account_id = &conversation.account_id;
        let mut notice = change.notice.clone();
        if let Some(notice) = notice.as_mut() {
            notice.seq = self.last_seq(account_id, &conversation.id).await? + 1;
        }
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            // Order matters: item 0 is the conversation, items 1 and 2 the notice's
            // idempotency record and message slot.
            let mut items = vec![self.conversation_replace(conversation)?];
            if let Some(notice) = &notice {
                let (idempotency, message) = self.message_items(notice)?;
                let put = |item: Item| self.transact_put(item, "attribute_not_exists(pk)", None);
                items.push(put(idempotency)?);
                items.push(put(message)?);
            }
            if let Some(csat) = &change.csat {
                let (pk, sk) = csat_key(csat);
                items.push(self.transact_put(
                    encode(csat, pk, sk)?,
                    "attribute_not_exists(pk)",
                    None,
                )?);
            }
            if let Some(release) = &change.capacity {
                items.push(self.capacity_update(account_id, release)?);
            }
            if let Some(offer) = &change.withdrawn_offer {
                items.push(self.plain_delete(offer_key(offer))?);
            }
            if let Some(entry) = &change.left_waiting {
                items.push(self.plain_delete(waiting_key(entry))?);
            }
            match self.transact_items(items).await? {
                Transacted::Done => return Ok(notice),
                // Only the notice's slot was taken (a message arrived meanwhile): next slot.
                Transacted::Cancelled(failed)
                    if notice.is_some()
                        && failed.iter().enumerate().all(|(i, f)| *f == (i == 2)) =>
                {
                    if let Some(notice) = notice.as_mut() {
                        notice.seq = self.last_seq(account_id, &conversation.id).await? + 1;
                    }
                }
                Transacted::Cancelled(_) => return Err(StoreError::Conflict),
                Transacted::Contended => {
                    tokio::time::sleep(jittered_backoff(attempt)).await;
                }
            }
        }
        Err(StoreError::Unavailable("session change contention".into()))
    }

    async fn list_csat_requests(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError> {
        decode_all(
            self.query_range(format!("A#{account_id}#CSAT"), "C#".into(), "C#~", limit)
                .await?,
        )
    }
}

/// A unit enum's serde name (`"online"`).
fn json_str<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        _ => Err(StoreError::Internal("not a unit enum".into())),
    }
}
