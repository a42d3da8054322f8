//! The away message (spec "Satisfaction and hours"), taken from the change stream: when a
//! session starts waiting for agents (a handoff, or a session the bot never held) outside the
//! account's business hours, the end user is told once per session. The conversation still
//! waits for routing; the message only sets expectations. Run by the fan-out, so a crash after
//! the handoff's write still tells them, and a redelivered change finds the message there.

use crate::error::StoreError;
use crate::ports::Store;
use crate::settings_cache::AccountSettings;
use domain::business_hours::{away_message, starts_waiting_for_agents};
use domain::model::Message;
use domain::realtime::{Stored, StoredChange};

/// Posts the away message `change` calls for, if any; answers it when it was posted now.
pub async fn post_if_closed(
    store: &dyn Store,
    settings: &(impl AccountSettings + ?Sized),
    change: &StoredChange,
    now: i64,
) -> Result<Option<Message>, StoreError> {
    let Some(Stored::Conversation(after)) = &change.after else {
        return Ok(None);
    };
    let before = match &change.before {
        Some(Stored::Conversation(before)) => Some(before.as_ref()),
        _ => None,
    };
    if !starts_waiting_for_agents(before, after) {
        return Ok(None);
    }
    let settings = settings.account_settings(&after.account_id).await?;
    let text = settings.messaging.away_message.as_deref();
    let Some(message) = away_message(after, &settings.business_hours, text, after.updated_at, now)
    else {
        return Ok(None);
    };
    let posted = store
        .find_message(
            &after.account_id,
            &after.id,
            &message.author_id,
            &message.client_message_id,
        )
        .await?;
    if posted.is_some() {
        return Ok(None);
    }
    store.append_message(&message).await?;
    tracing::info!(account_id = %after.account_id, conversation_id = %after.id, session_no = after.session_no, "away message posted");
    Ok(Some(message))
}
