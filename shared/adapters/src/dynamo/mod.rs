//! DynamoDB adapter: one table, keys designed per access pattern (the table below).
//!
//! | item | pk | sk |
//! |---|---|---|
//! | account | `A#{acct}` | `ACCOUNT` |
//! | signing key (secret) | `S#KEYS#{acct}` | `KEY#{kid}` |
//! | integration (key kept as a hash) | `A#{acct}` | `INTEG#{id}` |
//! | webhook subscription | `A#{acct}` | `WEBHOOK#{id}` |
//! | webhook secret | `S#HOOKS#{acct}` | `WEBHOOK#{id}` |
//! | webhook delivery attempt | `A#{acct}#WH#{id}` | `D#{at:015}#{event}#{attempt:02}` (TTL 30 days) |
//! | CSAT rating by time | `A#{acct}#CSATR` | `{rated_at:015}#{cid}#S{session:06}` |
//! | widget visitors counted | `A#{acct}#VISITORS` | `W#{window:015}#{source}` (TTL) |
//! | a caller's quota counters (R33) | `A#{acct}#QUOTA#{user}` | `{quota}#{window:015}` (TTL) |
//! | settings document | `A#{acct}` | `SETTINGS` |
//! | conversation | `A#{acct}#C#{cid}` | `CONV` (+ `gsi1pk = A#{acct}#U#{owner}`, `gsi1sk = {created_at}#{cid}`; TTL `expires_at` while at rest under retention) |
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
//! | WebSocket connection | `CONN#{id}` | `CONN` (TTL `expires_at`) |
//! | connection by listener | `A#{acct}#RT` | `L#{end_user\|staff}#{user}#{id}` (TTL) |
//! | subscription | `A#{acct}#RT` | `S#{cid}#{id}` (TTL) |
//! | push cursor (`realtime::direct`) | `PUSH#{acct}#{cid}` | `CURSOR` (TTL) |
//! | history entry | `A#{acct}#C#{cid}` | `H#{revision:012}#{field}` |
//! | report measure of a session | `R#{acct}#C#{cid}` | `S#{session:06}` (TTL 90 days) |
//! | knowledge base (version, counts) | `K#{acct}` | `BASE` |
//! | article | `K#{acct}` | `ART#{article_id}` |
//! | macro (shared, or an agent's own) | `K#{acct}` | `MACRO#{macro_id}` |
//! | macros' book (version, count, last audit hash) | `K#{acct}` | `MACROS` |
//! | audit entry of a macro change | `K#{acct}` | `MAUDIT#{version:012}` |
//! | an account's email secret (reply tokens, R35) | `S#EMAIL#{acct}` | `SECRET` |
//! | reply token's grant | `E#{token_id}` | `GRANT` (TTL at its end) |
//! | inbound mail dropped | `EMAIL#FAILED` | `{999999999999999 - at:015}#{object_key}` (TTL 90 days) |
//! | report row | `R#{acct}` | `D#{day}#A{len}:{agent}#G{len}:{group}` (`A-`/`G-` for none; counters packed in one attribute, versioned) |
//!
//! Active live chats also carry `gsi2pk = A#{acct}#LIVE` (a sparse index R3 pages through).
//! The inbox (docs/inbox.md): open tickets carry `gsi3pk = A#{acct}#AGENT#{assignee}`, every
//! conversation `gsi4pk = A#{acct}#ALL#{shard}`, both sorted by `activity_key`; waiting
//! entries carry `gsi5pk = A#{acct}#WG#{group}` (`A#{acct}#WG#` when ungrouped).

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
use domain::attachments::Attachment;
use domain::integrations::{Integration, MAX_INTEGRATIONS_PER_ACCOUNT};
use domain::model::{Account, AppendOutcome, Conversation, Message, SigningKey};
use domain::routing::{Agent, AgentProfileChange, CapacityChannel, Offer, WaitingEntry};
use domain::rules::{is_active_live_chat, IDEMPOTENCY_RETENTION_SECS};
use domain::sessions::{CapacityRelease, CsatRequest, SessionChange};
use domain::settings::{AuditEntry, EffectJob, WorkspaceFacts};
use domain::webhooks::{
    DeliveryAttempt, Subscription, WebhookSecret, DELIVERY_LOG_RETENTION_SECS,
    MAX_SUBSCRIPTIONS_PER_ACCOUNT,
};
use domain::workspace::{activity_key, all_view_shard, mine_view_owner, HistoryEntry};
use use_cases::error::StoreError;
use use_cases::ports::{
    AccountStore, ActivityView, AttachmentStore, ConversationStore, HistoryStore, IntegrationStore,
    KnowledgeStore, MacroStore, MessageStore, ReportStore, RoutingStore, SessionStore,
    SettingsStore, StoredSettings, WebhookStore,
};

mod accounts;
mod attachments;
mod connections;
mod conversations;
mod email;
mod history;
mod integrations;
mod knowledge;
pub mod limits;
mod macros;
mod messages;
mod reports;
mod routing;
mod sessions;
mod settings;
pub mod stream;
mod transactions;
mod webhooks;

// Offer and waiting-list keys and capacity attributes, which a session step also writes.
use self::routing::*;

/// Key attribute names; `infra` defines the table with the same names (checked by a test).
pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const USER_INDEX: &str = "gsi1";
pub const USER_INDEX_PARTITION_KEY: &str = "gsi1pk";
pub const USER_INDEX_SORT_KEY: &str = "gsi1sk";
pub const LIVE_CHAT_INDEX: &str = "gsi2";
pub const LIVE_CHAT_INDEX_PARTITION_KEY: &str = "gsi2pk";
pub const LIVE_CHAT_INDEX_SORT_KEY: &str = "gsi2sk";
pub const MINE_INDEX: &str = "gsi3";
pub const ALL_INDEX: &str = "gsi4";
pub const WAITING_GROUP_INDEX: &str = "gsi5";
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The partition keys of secrets (signing keys) start with this, and nothing else's does: the
/// template denies reading them by this prefix to functions that need none, and the fan-out's
/// stream filter only passes partitions starting with `A#`.
pub const SECRETS_PREFIX: &str = "S#";

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

fn mine_partition(account_id: &str, agent_id: &str) -> String {
    format!("A#{account_id}#AGENT#{agent_id}")
}

fn all_partition(account_id: &str, shard: u32) -> String {
    format!("A#{account_id}#ALL#{shard}")
}

fn conversation_pk(account_id: &str, conversation_id: &str) -> String {
    format!("A#{account_id}#C#{conversation_id}")
}

fn message_sk(seq: u64) -> String {
    format!("M#{seq:012}")
}

/// The highest seq (and settings version) a 12-digit sort key holds; a cursor at or past it
/// has nothing after it.
const MAX_KEYED_NUMBER: u64 = 999_999_999_999;

/// The first key number after cursor `after`, if any fits the keys.
fn first_after(after: u64) -> Option<u64> {
    after
        .checked_add(1)
        .filter(|first| *first <= MAX_KEYED_NUMBER)
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
    super::sdk_error(error)
}

fn encode<T: Serialize>(value: &T, pk: String, sk: String) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Internal(format!("item encoding: {e}")))?;
    item.insert(PARTITION_KEY.into(), s(pk));
    item.insert(SORT_KEY.into(), s(sk));
    limits::check_item(&item)?;
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

    /// Deletes one item; whether it was there.
    async fn delete_existing(&self, (pk, sk): (String, String)) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// The items of an account's partition under `prefix` (`INTEG#`, `WEBHOOK#`), at most
    /// `limit`, decoded.
    async fn account_items<T: DeserializeOwned>(
        &self,
        account_id: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        decode_all(
            self.query_range(
                account_pk(account_id),
                prefix.into(),
                &format!("{prefix}~"),
                limit,
            )
            .await?,
        )
    }

    /// Deletes one item (no error when it is already gone).
    async fn delete(&self, (pk, sk): (String, String)) -> Result<(), StoreError> {
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

    /// Deletes these items, all at once; answers how many keys there were.
    async fn delete_all(&self, keys: Vec<(String, String)>) -> Result<usize, StoreError> {
        let count = keys.len();
        let deletes = keys.into_iter().map(|key| self.delete(key));
        futures::future::try_join_all(deletes).await?;
        Ok(count)
    }

    async fn put(&self, item: Item, condition: Option<&str>) -> Result<(), StoreError> {
        limits::check_item(&item)?;
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
        self.query_range_read(pk, (from, to), limit, (true, None))
            .await
    }

    /// [`Self::query_range`], read consistently or not (half the read units, for what may lag
    /// a second behind, such as a report), with every attribute or only `projection`'s.
    async fn query_range_read(
        &self,
        pk: String,
        (from, to): (String, &str),
        limit: usize,
        (consistent, projection): (bool, Option<&str>),
    ) -> Result<Vec<Item>, StoreError> {
        // DynamoDB refuses an inverted BETWEEN (a ValidationException); such a range is empty.
        if from.as_str() > to {
            return Ok(Vec::new());
        }
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
                .consistent_read(consistent)
                .set_projection_expression(projection.map(str::to_string))
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
        partition: String,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        decode_all(
            self.query_index_after(index, partition, None, forward, limit)
                .await?,
        )
    }

    fn conversation_item(&self, conversation: &Conversation) -> Result<Item, StoreError> {
        let mut item = encode(
            conversation,
            conversation_pk(&conversation.account_id, &conversation.id),
            "CONV".into(),
        )?;
        // A running conversation never carries the TTL attribute (#32 item 5).
        if domain::retention::stored_expiry(conversation).is_none() {
            item.remove(TTL_ATTRIBUTE);
        }
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
        let activity = activity_key(conversation);
        if let Some(agent) = mine_view_owner(conversation) {
            item.insert(
                "gsi3pk".into(),
                s(mine_partition(&conversation.account_id, agent)),
            );
            item.insert("gsi3sk".into(), s(activity.clone()));
        }
        item.insert(
            "gsi4pk".into(),
            s(all_partition(
                &conversation.account_id,
                all_view_shard(&conversation.id),
            )),
        );
        item.insert("gsi4sk".into(), s(activity));
        Ok(item)
    }

    /// Up to `limit` items of one index partition, in sort-key order (descending unless
    /// `forward`), strictly beyond `after` when given. Indexes are read eventually
    /// consistently (the only way DynamoDB reads them). Index `gsiN` is keyed by `gsiNpk` and
    /// `gsiNsk` (the definition in `infra` names them so).
    async fn query_index_after(
        &self,
        index: &str,
        partition: String,
        after: Option<&str>,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk_attribute, sk_attribute) = (format!("{index}pk"), format!("{index}sk"));
        let condition = match (after, forward) {
            (None, _) => "#pk = :pk",
            (Some(_), true) => "#pk = :pk AND #sk > :after",
            (Some(_), false) => "#pk = :pk AND #sk < :after",
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", pk_attribute)
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            query = query
                .expression_attribute_names("#sk", sk_attribute)
                .expression_attribute_values(":after", s(after));
        }
        let output = query.send().await.map_err(store_error)?;
        Ok(output.items.unwrap_or_default())
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

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(format!("transaction build: {e}"))
}

/// A unit enum's serde name (`"online"`).
fn json_str<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        _ => Err(StoreError::Internal("not a unit enum".into())),
    }
}
