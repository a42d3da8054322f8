//! Conversation expiry (`domain::retention`, `messaging.retention_days`): the change stream
//! keeps each conversation's expiry in step with its state, a settings change stamps the
//! conversations already at rest, and the stream's record of a conversation the table's TTL
//! removed starts the purge of the rest of it (its items here, its files through
//! validate-attachment's queue).

use crate::error::StoreError;
use crate::ports::{settings_from_document, ActivityView, ConversationStore, Queue, Store};
use crate::validation::queue_file_purge;
use domain::attachments::{FilePurge, PurgedFiles};
use domain::model::Conversation;
use domain::realtime::StoredChange;
use domain::retention::{expired_removal, expiry, expiry_to_review, Purged, PURGE_SLICE};
use domain::workspace::activity_key;

/// Conversations stamped per page of the settings effect.
pub const STAMP_PAGE: usize = 100;
/// Attempts to stamp one conversation that keeps changing under the effect.
const STAMP_ATTEMPTS: usize = 3;

/// The account's retention in days (it has no per-account default, so only the stored
/// document is read).
async fn retention_days(store: &dyn Store, account_id: &str) -> Result<Option<u32>, StoreError> {
    Ok(settings_from_document(store, account_id)
        .await?
        .messaging
        .retention_days)
}

/// Gives `conversation` the expiry its state and `days` call for, if it does not carry it
/// already. Answers `false` only when its revision moved on (nothing was written).
async fn settle_expiry(
    store: &(impl ConversationStore + ?Sized),
    conversation: &Conversation,
    days: Option<u32>,
) -> Result<bool, StoreError> {
    let wanted = expiry(conversation, days);
    if wanted == conversation.expires_at {
        return Ok(true);
    }
    store
        .set_expiry(
            &conversation.account_id,
            &conversation.id,
            conversation.revision,
            wanted,
        )
        .await
}

/// The fan-out's step after a conversation changed: it carries the expiry its state and the
/// account's retention call for.
pub async fn keep_expiry(store: &dyn Store, change: &StoredChange) -> Result<(), StoreError> {
    let Some(conversation) = expiry_to_review(change) else {
        return Ok(());
    };
    let days = retention_days(store, &conversation.account_id).await?;
    // A revision that moved on is judged again from its own change on the stream.
    settle_expiry(store, conversation, days).await.map(|_| ())
}

/// The fan-out's step after the table's TTL removed an expired conversation: its files are
/// handed to validate-attachment first (so a failure here loses none), then its items go, up
/// to `PURGE_SLICE` of them; `done: false` asks for a follow-up ([`purge_rest`]).
pub async fn purge_expired(
    store: &dyn Store,
    attachment_queue: &dyn Queue,
    change: &StoredChange,
    now: i64,
) -> Result<Option<Purged>, StoreError> {
    let Some(gone) = expired_removal(change, now) else {
        return Ok(None);
    };
    let purge = FilePurge {
        account_id: gone.account_id.clone(),
        conversation_id: gone.id.clone(),
        files: PurgedFiles::All,
    };
    queue_file_purge(attachment_queue, &purge).await?;
    purge_rest(store, change, now).await
}

/// The items of an expired conversation's purge still left (its files were handed over by
/// [`purge_expired`]): up to `PURGE_SLICE` of them per call.
pub async fn purge_rest(
    store: &(impl ConversationStore + ?Sized),
    change: &StoredChange,
    now: i64,
) -> Result<Option<Purged>, StoreError> {
    let Some(gone) = expired_removal(change, now) else {
        return Ok(None);
    };
    let purged = store
        .purge_conversation(&gone.account_id, &gone.id, PURGE_SLICE)
        .await?;
    tracing::info!(
        account_id = %gone.account_id,
        conversation_id = %gone.id,
        deleted = purged.deleted,
        done = purged.done,
        "expired conversation purged"
    );
    Ok(Some(purged))
}

/// One page of the settings effect: every conversation of the account, newest activity first
/// from `cursor`, gets the expiry the current retention calls for. Answers where the next page
/// starts, `None` when this was the last.
pub async fn stamp_conversations(
    store: &dyn Store,
    account_id: &str,
    cursor: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let days = retention_days(store, account_id).await?;
    let page = store
        .list_by_activity(account_id, ActivityView::All, cursor, STAMP_PAGE)
        .await?;
    for conversation in &page {
        stamp(store, conversation, days).await?;
    }
    Ok((page.len() == STAMP_PAGE)
        .then(|| page.last().map(activity_key))
        .flatten())
}

/// Sets one conversation's expiry; the index may hold an older revision, so a conflict reads
/// the conversation again.
async fn stamp(
    store: &dyn Store,
    listed: &Conversation,
    days: Option<u32>,
) -> Result<(), StoreError> {
    let mut current = listed.clone();
    for _ in 0..STAMP_ATTEMPTS {
        if settle_expiry(store, &current, days).await? {
            return Ok(());
        }
        match store
            .get_conversation(&current.account_id, &current.id)
            .await?
        {
            Some(fresh) => current = fresh,
            // Expired meanwhile: nothing left to stamp.
            None => return Ok(()),
        }
    }
    // Still changing: the stream judges each of its changes with the new retention anyway.
    Ok(())
}
