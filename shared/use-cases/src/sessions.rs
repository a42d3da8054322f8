//! Commits session-lifecycle steps (`domain::sessions`) with optimistic concurrency and lets
//! routing use whatever capacity they free: staff's [`end`] and [`close`] (`end-session`),
//! and through [`commit_with_retry`] R22's new session (`ingest-message`) and the
//! settings-effects worker (R3).

use crate::backend::Backend;
use crate::error::StoreError;
use crate::optimistic::{retry_on_conflict, Decision};
use crate::ports::reread_conversation;
use domain::ids::ConversationId;
use domain::model::Conversation;
use domain::routing::Agent;
use domain::sessions::{
    capacity_holder, close_ticket, end_session, resolve_with_bot, SessionChange,
};

use crate::auth::Principal;
use crate::conversations::{visible, ConversationError};

/// A step that keeps losing races gives up after this many attempts (the client retries).
const MAX_ATTEMPTS: u32 = 8;

/// What committing a step did.
#[derive(Debug)]
pub struct Committed {
    /// The conversation as stored afterwards.
    pub conversation: Conversation,
    /// The change written, `None` when the step had nothing to do (a repeat).
    pub change: Option<SessionChange>,
}

/// Applies `step` to the latest stored conversation and commits its change in one atomic
/// write, re-reading and re-applying when a concurrent writer won. `step` gets the record of
/// the agent whose capacity the conversation holds, and returns `None` for "nothing to do".
/// When the change frees capacity, routing is asked to drain the waiting list.
pub async fn commit_with_retry<E, F>(
    backend: &Backend,
    current: Conversation,
    mut step: F,
) -> Result<Committed, E>
where
    E: From<StoreError>,
    F: FnMut(&Conversation, Option<&Agent>) -> Result<Option<SessionChange>, E>,
{
    let ids = (current.account_id.clone(), current.id.clone());
    let (account_id, conversation_id) = (&ids.0, &ids.1);
    let holder = capacity_holder_record(backend, &current).await?;
    retry_on_conflict(
        (current, holder),
        MAX_ATTEMPTS,
        |(current, holder)| {
            Ok(match step(current, holder.as_ref())? {
                Some(change) => Decision::Write(change),
                None => Decision::Done(Committed {
                    conversation: current.clone(),
                    change: None,
                }),
            })
        },
        |change| async move {
            backend.store.commit_session_change(&change).await?;
            if change.frees_capacity() {
                crate::router::request_drain(backend, account_id, "capacity_freed").await?;
            }
            Ok(Committed {
                conversation: change.conversation.clone(),
                change: Some(change),
            })
        },
        || async move {
            let current: Conversation =
                reread_conversation(backend.store.as_ref(), account_id, conversation_id).await?;
            let holder = capacity_holder_record(backend, &current).await?;
            Ok::<_, E>((current, holder))
        },
    )
    .await
}

/// The record of the agent whose capacity `conversation` holds, if any.
async fn capacity_holder_record(
    backend: &Backend,
    conversation: &Conversation,
) -> Result<Option<Agent>, StoreError> {
    match capacity_holder(conversation) {
        Some((agent_id, _)) => {
            backend
                .store
                .get_agent(&conversation.account_id, &agent_id)
                .await
        }
        None => Ok(None),
    }
}

/// R20: staff end the current session of a conversation they may see. A repeat finds it
/// ended and changes nothing (`Committed::change` is `None`).
pub async fn end(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
) -> Result<Committed, ConversationError> {
    let conversation = visible(backend.store.as_ref(), principal, cid).await?;
    let settings = backend.settings(&principal.account_id).await?;
    let now = domain::now_ms();
    let committed = commit_with_retry(backend, conversation, |current, holder| {
        Ok::<_, ConversationError>(
            end_session(current, &settings, holder, &principal.user_id, now)?
                .map(|change| stamped(change, principal)),
        )
    })
    .await?;
    after_commit(backend, &committed, "end", principal).await?;
    Ok(committed)
}

/// R21: staff solve the ticket (ending its session if one is live); #36: its end user solves
/// it while the bot holds it ("That answered it" under the bot's articles).
pub async fn close(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
) -> Result<Committed, ConversationError> {
    let conversation = visible(backend.store.as_ref(), principal, cid).await?;
    let settings = backend.settings(&principal.account_id).await?;
    let now = domain::now_ms();
    let committed = commit_with_retry(backend, conversation, |current, holder| {
        let locale = domain::locale::in_conversation(current, &settings);
        let change = if principal.role.is_staff() {
            close_ticket(current, holder, locale, now)?
        } else {
            resolve_with_bot(current, locale, now)?
        };
        Ok::<_, ConversationError>(change.map(|change| stamped(change, principal)))
    })
    .await?;
    after_commit(backend, &committed, "close", principal).await?;
    Ok(committed)
}

/// The step credited to the caller on the ticket's history.
fn stamped(mut change: SessionChange, principal: &Principal) -> SessionChange {
    change.conversation.stamp(principal.actor());
    change
}

/// After a repeated request, routing is asked again: the first attempt may have stopped
/// between its commit and its drain request (a spare drain finds nothing to do).
async fn after_commit(
    backend: &Backend,
    committed: &Committed,
    action: &str,
    principal: &Principal,
) -> Result<(), StoreError> {
    match &committed.change {
        Some(change) => tracing::info!(
            account_id = %principal.account_id,
            conversation_id = %committed.conversation.id,
            session_no = committed.conversation.session_no,
            by = %principal.user_id,
            csat = change.csat.is_some(),
            capacity = ?change.capacity,
            action,
            "session lifecycle step committed"
        ),
        // Only staff's steps ever free capacity: an end user's repeated "That answered it"
        // asks routing for nothing (it would be a free way to queue routing runs).
        None if principal.role.is_staff() => {
            crate::router::request_drain(backend, &principal.account_id, "capacity_freed").await?;
        }
        None => {}
    }
    Ok(())
}
