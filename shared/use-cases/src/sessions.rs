//! Commits session-lifecycle steps (`domain::sessions`) with optimistic concurrency and lets
//! routing use whatever capacity they free. Used by `end-session`, `ingest-message` (R22's new
//! session) and the settings-effects worker (R3).

use crate::backend::Backend;
use crate::error::StoreError;
use crate::optimistic::{retry_on_conflict, Decision};
use crate::ports::reread_conversation;
use domain::model::Conversation;
use domain::routing::Agent;
use domain::sessions::{capacity_holder, SessionChange};

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
