//! The service ports (queues, the bucket, pushes to connections, the change feed) and the
//! helpers every use case shares over the store (the optimistic retry, effective settings).

use async_trait::async_trait;

use crate::error::StoreError;
use domain::attachments::UploadTarget;
use domain::model::Conversation;
use domain::realtime::StoredChange;

use super::storage::*;

/// What became of a frame pushed to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Delivered,
    /// The client is gone; its record should be removed.
    Gone,
}

/// Sends frames to WebSocket connections (API Gateway's `PostToConnection`, or the local
/// gateway's own sockets).
#[async_trait]
pub trait Push: Send + Sync {
    async fn push(&self, connection_id: &str, frame: &str) -> Result<PushOutcome, StoreError>;
    /// Closes a connection from the server side (no error when it is already gone).
    async fn close(&self, connection_id: &str) -> Result<(), StoreError>;
    /// Whether frames can be pushed at all: a function built or configured without real
    /// time cannot, and leaves every push to the fan-out.
    fn is_linked(&self) -> bool {
        true
    }
}

/// The table's change stream as the local gateway reads it (on AWS, Lambda reads the stream
/// and hands the fan-out its records).
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The changes stored since the previous call, oldest first; waits up to `wait` for the
    /// first one.
    async fn next_changes(
        &self,
        wait: std::time::Duration,
    ) -> Result<Vec<StoredChange>, StoreError>;
}

/// What a bucket says of a stored object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    /// Names this version of the bytes: another upload to the key gets another tag.
    pub etag: String,
}

/// The attachments bucket.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A target that accepts at most `max_bytes` for `key`, valid for `ttl_secs`.
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl_secs: u64,
    ) -> Result<UploadTarget, StoreError>;
    /// The stored object's size and version tag, `None` when nothing is stored under `key`.
    async fn object_head(&self, key: &str) -> Result<Option<ObjectHead>, StoreError>;
    /// The first `max_bytes` of the object (all of it when smaller), if it is still the
    /// version `etag` names; `Conflict` when it was replaced since.
    async fn read_prefix(
        &self,
        key: &str,
        max_bytes: u64,
        etag: &str,
    ) -> Result<Vec<u8>, StoreError>;
    /// Copies the object at `from` to `to` if it is still the version `etag` names;
    /// `Conflict` when it was replaced since (nothing is copied then).
    async fn copy_if_unchanged(&self, from: &str, to: &str, etag: &str) -> Result<(), StoreError>;
    /// Stores `bytes` at `key` (the product's own writes: an emailed file, R35).
    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError>;
    /// Removes the object (no error when it is already gone).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Removes every object whose key starts with `prefix`; answers how many there were.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError>;
    /// A short-lived URL that downloads the object as a file named `file_name` (never rendered
    /// inline), served as `content_type`.
    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        ttl_secs: u64,
    ) -> Result<String, StoreError>;
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

/// Path prefix of the object URLs the local gateway serves in memory mode.
pub const LOCAL_OBJECTS_PATH: &str = "/_local/objects/";

/// The local gateway's own bucket (in-memory mode): the gateway serves its signed upload and
/// download URLs at [`LOCAL_OBJECTS_PATH`] the way S3 serves presigned ones.
#[async_trait]
pub trait LocalBucket: Send + Sync {
    /// Where the URLs it signs point (the gateway's address, known once bound).
    fn set_base_url(&self, base_url: &str);
    /// What the signed query of a URL for `key` allows now, if its signature and expiry hold.
    fn verify(&self, key: &str, raw_query: &str, now_ms: i64) -> Option<LocalGrant>;
    /// Stores an upload (and announces it as S3 would).
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError>;
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

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
    /// Enqueues every `(body, delay_seconds)`; an adapter may send several per request.
    async fn send_batch(&self, messages: &[(String, u32)]) -> Result<(), StoreError> {
        for (body, delay_seconds) in messages {
            self.send(body, *delay_seconds).await?;
        }
        Ok(())
    }
    /// Up to `max` visible messages; each stays invisible until acknowledged or its visibility
    /// timeout passes.
    async fn receive(&self, max: u32) -> Result<Vec<ReceivedMessage>, StoreError>;
    async fn acknowledge(&self, receipt: &str) -> Result<(), StoreError>;
    /// Leaves a received message unacknowledged and invisible for `delay_seconds` (0–900):
    /// it comes back then with its receive count one higher (SQS's visibility timeout).
    async fn retry_after(&self, receipt: &str, delay_seconds: u32) -> Result<(), StoreError>;
}

/// A conversation update that keeps losing optimistic-concurrency races gives up after this.
const MAX_UPDATE_ATTEMPTS: u32 = 8;

/// Applies `change` to the latest stored conversation with optimistic concurrency, re-reading
/// and re-applying when another writer got there first. `change` returns `None` for "nothing
/// to do". Returns the conversation as stored afterwards.
pub async fn update_with_retry<E, F>(
    store: &dyn ConversationStore,
    current: Conversation,
    mut change: F,
) -> Result<Conversation, E>
where
    E: From<StoreError>,
    F: FnMut(&Conversation) -> Result<Option<Conversation>, E>,
{
    use crate::optimistic::{retry_on_conflict, Decision};
    let ids = (current.account_id.clone(), current.id.clone());
    let (account_id, conversation_id) = (&ids.0, &ids.1);
    retry_on_conflict(
        current,
        MAX_UPDATE_ATTEMPTS,
        |current| {
            Ok(match change(current)? {
                Some(next) => Decision::Write(next),
                None => Decision::Done(current.clone()),
            })
        },
        |next| async move { store.update_conversation(&next).await.map(|()| next) },
        || reread_conversation(store, account_id, conversation_id),
    )
    .await
}

/// What is stored for an account's settings (version, sparse document) and the effective
/// settings it gives: the spec's defaults (R4 per account) under what admins set.
pub async fn stored_and_effective_settings(
    store: &dyn Store,
    account_id: &str,
) -> Result<(Option<StoredSettings>, domain::settings::Settings), StoreError> {
    let (stored, account) = futures::try_join!(
        store.get_settings(account_id),
        store.get_account(account_id)
    )?;
    let settings = domain::settings::Settings::effective(
        stored.as_ref().map(|s| &s.document),
        account.as_ref(),
    );
    Ok((stored, settings))
}

/// The settings the stored document gives over the spec's defaults, without the account's own
/// defaults, read now: one read instead of two, for settings that have no per-account default
/// (retention, which a conversation at rest is stamped with and must not lag a change).
pub async fn settings_from_document(
    store: &dyn Store,
    account_id: &str,
) -> Result<domain::settings::Settings, StoreError> {
    let stored = store.get_settings(account_id).await?;
    Ok(domain::settings::Settings::effective(
        stored.as_ref().map(|s| &s.document),
        None,
    ))
}

/// The conversation as stored now; it cannot vanish (conversations are never deleted).
pub async fn reread_conversation<E: From<StoreError>>(
    store: &dyn ConversationStore,
    account_id: &str,
    conversation_id: &str,
) -> Result<Conversation, E> {
    Ok(store
        .get_conversation(account_id, conversation_id)
        .await?
        .ok_or_else(|| StoreError::Internal("conversation vanished".into()))?)
}
