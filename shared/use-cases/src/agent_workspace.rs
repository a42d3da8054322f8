//! The agent workspace's use cases: the inbox views, changing a conversation's fields,
//! transferring it, the ticket's history, and what the change stream keeps up to date for
//! them (the inbox's activity order and the history entries).

use futures::future::try_join_all;
use thiserror::Error;

use crate::auth::Principal;
use crate::backend::Backend;
use crate::error::{DomainError, StoreError};
use crate::optimistic::{retry_on_conflict, Decision};
use crate::ports::{
    reread_conversation, ActivityView, ConversationStore, HistoryStore, RoutingStore,
};
use crate::router::request_routing;
use crate::sessions::commit_with_retry;
use domain::ids::ConversationId;
use domain::model::{Conversation, Role};
use domain::realtime::{Stored, StoredChange};
use domain::routing::{needs_routing, WaitingEntry};
use domain::sessions::{transfer, TransferTarget};
use domain::workspace::{
    activity_key, apply_fields, history_of, is_inbox_cursor, FieldsPatch, HistoryEntry, InboxView,
};

/// Attempts of a field change that keeps losing races (then 503, the client retries).
const MAX_ATTEMPTS: u32 = 8;

/// Why a workspace request was refused.
#[derive(Debug, Error)]
pub enum WorkspaceError {
    /// The caller's role may not do this: 403.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such conversation in the caller's account: 404.
    #[error("conversation not found")]
    NotFound,
    /// The cursor is not one this view handed out: 400.
    #[error("cursor is not a cursor of this view")]
    InvalidCursor,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of an inbox view.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    pub conversations: Vec<Conversation>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn require_staff(principal: &Principal) -> Result<(), WorkspaceError> {
    if principal.role.is_staff() {
        Ok(())
    } else {
        Err(WorkspaceError::Forbidden(
            "only agents and admins use the workspace",
        ))
    }
}

/// One page of `view` for the caller: `mine` and `all` newest activity first, `waiting` in
/// routing order within the caller's groups (every group for an agent without groups and for
/// admins). Reading a page never costs more with a bigger account: each view is its own index.
pub async fn list_inbox(
    store: &(impl ConversationStore + RoutingStore + ?Sized),
    principal: &Principal,
    view: InboxView,
    cursor: Option<&str>,
    limit: usize,
) -> Result<InboxPage, WorkspaceError> {
    require_staff(principal)?;
    if !view.allowed_for(principal.role) {
        return Err(WorkspaceError::Forbidden(
            "only admins see every conversation of the account",
        ));
    }
    if cursor.is_some_and(|c| !is_inbox_cursor(view, c)) {
        return Err(WorkspaceError::InvalidCursor);
    }
    let account_id = &principal.account_id;
    // One more than the page tells whether another page follows.
    let (conversations, more) = match view {
        InboxView::Mine | InboxView::All => {
            let activity_view = match view {
                InboxView::Mine => ActivityView::AssignedTo(&principal.user_id),
                _ => ActivityView::All,
            };
            let mut found = store
                .list_by_activity(account_id, activity_view, cursor, limit + 1)
                .await?;
            let more = found.len() > limit;
            found.truncate(limit);
            (found, more)
        }
        InboxView::Waiting => waiting_page(store, principal, cursor, limit).await?,
    };
    let next_cursor = more
        .then(|| conversations.last().map(|c| cursor_of(view, c)))
        .flatten();
    Ok(InboxPage {
        conversations,
        next_cursor,
    })
}

fn cursor_of(view: InboxView, conversation: &Conversation) -> String {
    match view {
        InboxView::Waiting => WaitingEntry::for_conversation(conversation).sort_key(),
        InboxView::Mine | InboxView::All => activity_key(conversation),
    }
}

/// The waiting list's entries, read with their conversations; entries routing has not yet
/// cleaned up (offered, ended meanwhile) are skipped.
async fn waiting_page(
    store: &(impl ConversationStore + RoutingStore + ?Sized),
    principal: &Principal,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Conversation>, bool), WorkspaceError> {
    let account_id = &principal.account_id;
    let groups = match principal.role {
        Role::Agent => store
            .get_agent(account_id, &principal.user_id)
            .await?
            .map(|a| a.groups)
            .filter(|groups| !groups.is_empty()),
        _ => None,
    };
    let entries = store
        .list_waiting_page(account_id, groups.as_deref(), cursor, limit + 1)
        .await?;
    let more = entries.len() > limit;
    let conversations = try_join_all(
        entries
            .iter()
            .take(limit)
            .map(|e| store.get_conversation(account_id, &e.conversation_id)),
    )
    .await?;
    let conversations = conversations
        .into_iter()
        .flatten()
        .filter(needs_routing)
        .collect();
    Ok((conversations, more))
}

/// The conversation `cid` of the caller's account, for staff.
async fn staff_conversation(
    store: &(impl ConversationStore + ?Sized),
    principal: &Principal,
    cid: &ConversationId,
) -> Result<Conversation, WorkspaceError> {
    require_staff(principal)?;
    store
        .get_conversation(&principal.account_id, cid.as_str())
        .await?
        .ok_or(WorkspaceError::NotFound)
}

/// `PATCH /v1/conversations/{cid}`: staff change priority, group or tags. A waiting
/// conversation moves to its new place in the waiting list in the same write, and routing
/// is asked to place it at once (a new group may have an agent free).
pub async fn change_fields(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    patch: &FieldsPatch,
) -> Result<Conversation, WorkspaceError> {
    let store = backend.store.as_ref();
    let current = staff_conversation(store, principal, cid).await?;
    let by = principal.actor();
    let (account_id, conversation_id) = (&current.account_id.clone(), &current.id.clone());
    let changed = retry_on_conflict(
        current,
        MAX_ATTEMPTS,
        |current| {
            Ok::<_, WorkspaceError>(match apply_fields(current, patch, &by, domain::now_ms())? {
                Some(next) => Decision::Write((current.clone(), next)),
                None => Decision::Done((current.clone(), false)),
            })
        },
        |(current, next)| async move {
            if needs_routing(&current) {
                store
                    .move_waiting(
                        &next,
                        &WaitingEntry::for_conversation(&current),
                        &WaitingEntry::for_conversation(&next),
                    )
                    .await?;
            } else {
                store.update_conversation(&next).await?;
            }
            Ok((next, true))
        },
        || reread_conversation(store, account_id, conversation_id),
    )
    .await?;
    let (conversation, written) = changed;
    if written && needs_routing(&conversation) {
        request_routing(backend, &conversation, "fields_changed").await?;
    }
    tracing::info!(account_id = %conversation.account_id, conversation_id = %conversation.id, by = %principal.user_id, "conversation fields changed");
    Ok(conversation)
}

/// `POST /v1/conversations/{cid}/transfer`: the holder's slot is released in the same atomic
/// step (R24), and the conversation is routed again to `target`.
pub async fn transfer_conversation(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    target: TransferTarget,
) -> Result<Conversation, WorkspaceError> {
    let current = staff_conversation(backend.store.as_ref(), principal, cid).await?;
    if let TransferTarget::Agent(agent_id) = &target {
        let known = domain::ids::is_safe_identifier(agent_id)
            && backend
                .store
                .get_agent(&principal.account_id, agent_id)
                .await?
                .is_some();
        if !known {
            return Err(DomainError::UnknownAgent(agent_id.clone()).into());
        }
    }
    let by = principal.actor();
    let committed = commit_with_retry(backend, current, |current, holder| {
        transfer(current, holder, &target, by.clone(), domain::now_ms())
            .map(Some)
            .map_err(WorkspaceError::from)
    })
    .await?;
    let conversation = committed.conversation;
    request_routing(backend, &conversation, "transfer").await?;
    tracing::info!(account_id = %conversation.account_id, conversation_id = %conversation.id, by = %principal.user_id, ?target, "conversation transferred");
    Ok(conversation)
}

/// The ticket history of a conversation (staff only), oldest first, after a revision.
pub async fn history(
    store: &(impl ConversationStore + HistoryStore + ?Sized),
    principal: &Principal,
    cid: &ConversationId,
    after_revision: u64,
    limit: usize,
) -> Result<Vec<HistoryEntry>, WorkspaceError> {
    let conversation = staff_conversation(store, principal, cid).await?;
    Ok(store
        .list_history(
            &conversation.account_id,
            &conversation.id,
            after_revision,
            limit,
        )
        .await?)
}

/// The end user's conversations (staff only), newest first.
pub async fn end_user_conversations(
    store: &(impl ConversationStore + ?Sized),
    principal: &Principal,
    end_user_id: &str,
    limit: usize,
) -> Result<Vec<Conversation>, WorkspaceError> {
    require_staff(principal)?;
    if !domain::ids::is_safe_identifier(end_user_id) {
        return Ok(Vec::new());
    }
    Ok(store
        .list_conversations_for_user(&principal.account_id, end_user_id, limit)
        .await?)
}

/// What follows a stored change for the workspace, run by the change stream's consumer (so
/// a crash after the write loses nothing, and a redelivery writes the same again): a new
/// message moves its conversation's activity forward; a conversation's changed fields are
/// recorded on its ticket's history.
pub async fn follow_up(
    store: &(impl ConversationStore + HistoryStore + ?Sized),
    change: &StoredChange,
) -> Result<(), StoreError> {
    match (&change.before, &change.after) {
        (None, Some(Stored::Message(message))) => {
            store
                .touch_activity(
                    &message.account_id,
                    &message.conversation_id,
                    message.created_at,
                )
                .await
        }
        (Some(Stored::Conversation(before)), Some(Stored::Conversation(after))) => {
            let entries = history_of(before, after);
            if entries.is_empty() {
                return Ok(());
            }
            store.record_history(&entries).await
        }
        _ => Ok(()),
    }
}
