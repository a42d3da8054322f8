//! Idle auto-end (`domain::idle_sessions`): the fan-out schedules a check after each end-user
//! message on the routing queue (SQS delays; see docs/decisions.md for why not EventBridge
//! Scheduler), and route-conversation judges it when it comes back: drop it, send it again for
//! what is left, or end the session through the same atomic step as an agent's end.

use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::{MessageStore, Queue};
use crate::sessions::commit_with_retry;
use crate::settings_cache::AccountSettings;
use domain::idle_sessions::{check_delay_seconds, end_idle_session, judge, IdleCheck, IdleVerdict};
use domain::model::AuthorRole;
use domain::realtime::{Stored, StoredChange};

/// Messages read at most, a page at a time, looking for a later end-user message.
const MAX_MESSAGES_SCANNED: usize = 1_000;
const PAGE: usize = 100;

fn encode(check: &IdleCheck) -> Result<String, StoreError> {
    serde_json::to_string(check)
        .map_err(|e| StoreError::Internal(format!("idle check encoding: {e}")))
}

/// The fan-out's step: an end user's new message schedules its idle check when the account has
/// an idle timeout. Answers the delay it was queued with.
pub async fn schedule_after(
    settings: &(impl AccountSettings + ?Sized),
    routing_queue: &dyn Queue,
    change: &StoredChange,
    now: i64,
) -> Result<Option<u32>, StoreError> {
    let (None, Some(Stored::Message(message))) = (&change.before, &change.after) else {
        return Ok(None);
    };
    let Some(check) = IdleCheck::after(message) else {
        return Ok(None);
    };
    let settings = settings.account_settings(&message.account_id).await?;
    let Some(minutes) = settings.messaging.idle_timeout_minutes else {
        return Ok(None);
    };
    let due_at = check.message_at + i64::from(minutes) * 60_000;
    let delay = check_delay_seconds(due_at, now);
    routing_queue.send(&encode(&check)?, delay).await?;
    Ok(Some(delay))
}

/// Whether the end user wrote again in the check's session after its message.
async fn wrote_again(
    store: &(impl MessageStore + ?Sized),
    check: &IdleCheck,
) -> Result<bool, StoreError> {
    let mut after = check.message_seq;
    let mut scanned = 0;
    while scanned < MAX_MESSAGES_SCANNED {
        let page = store
            .list_messages(&check.account_id, &check.conversation_id, after, PAGE)
            .await?;
        if page
            .iter()
            .any(|m| m.author_role == AuthorRole::EndUser && m.session_no == check.session_no)
        {
            return Ok(true);
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.seq,
            _ => return Ok(false),
        }
        scanned += page.len();
    }
    // A session this busy after the message is not idle.
    Ok(true)
}

/// Judges a check that came back at `now`: drops it, sends it again for what is left of the
/// timeout, or ends the session (R21's step, credited to the system).
pub async fn check(
    backend: &Backend,
    check: &IdleCheck,
    now: i64,
) -> Result<IdleVerdict, StoreError> {
    let store = backend.store.as_ref();
    let (conversation, settings) = futures::try_join!(
        store.get_conversation(&check.account_id, &check.conversation_id),
        backend.settings(&check.account_id)
    )?;
    let mut verdict = judge(check, conversation.as_ref(), &settings, false, now);
    if !matches!(verdict, IdleVerdict::Drop(_)) && wrote_again(store, check).await? {
        verdict = judge(check, conversation.as_ref(), &settings, true, now);
    }
    match (verdict, conversation) {
        (IdleVerdict::CheckAgainIn(delay), _) => {
            backend.routing_queue.send(&encode(check)?, delay).await?;
        }
        (IdleVerdict::End, Some(conversation)) => {
            let session_no = check.session_no;
            let committed =
                commit_with_retry::<StoreError, _>(backend, conversation, |current, holder| {
                    Ok((current.session_no == session_no)
                        .then(|| end_idle_session(current, &settings, holder, now))
                        .flatten())
                })
                .await?;
            if committed.change.is_some() {
                tracing::info!(
                    account_id = %check.account_id,
                    conversation_id = %check.conversation_id,
                    session_no,
                    "idle session ended"
                );
            }
        }
        _ => {}
    }
    Ok(verdict)
}
