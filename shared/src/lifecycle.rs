//! Commits session-lifecycle steps (`crate::sessions`) with optimistic concurrency and lets
//! routing use whatever capacity they free. Used by `end-session`, `ingest-message` (R22's new
//! session) and the settings-effects worker (R3).

use crate::backend::Backend;
use crate::error::StoreError;
use crate::model::Conversation;
use crate::routing::Agent;
use crate::sessions::{capacity_holder, SessionChange};

/// A step that keeps losing races gives up after this many attempts (the client retries).
const MAX_ATTEMPTS: usize = 8;

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
    mut current: Conversation,
    mut step: F,
) -> Result<Committed, E>
where
    E: From<StoreError>,
    F: FnMut(&Conversation, Option<&Agent>) -> Result<Option<SessionChange>, E>,
{
    for _ in 0..MAX_ATTEMPTS {
        let holder = match capacity_holder(&current) {
            Some((agent_id, _)) => {
                backend
                    .store
                    .get_agent(&current.account_id, &agent_id)
                    .await?
            }
            None => None,
        };
        let Some(change) = step(&current, holder.as_ref())? else {
            return Ok(Committed {
                conversation: current,
                change: None,
            });
        };
        match backend.store.commit_session_change(&change).await {
            Ok(_) => {
                if change.frees_capacity() {
                    crate::router::request_drain(backend, &current.account_id, "capacity_freed")
                        .await?;
                }
                return Ok(Committed {
                    conversation: change.conversation.clone(),
                    change: Some(change),
                });
            }
            Err(StoreError::Conflict) => {
                current = backend
                    .store
                    .get_conversation(&current.account_id, &current.id)
                    .await?
                    .ok_or_else(|| StoreError::Internal("conversation vanished".into()))?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
