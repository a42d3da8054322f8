//! The worker behind the settings-effects queue (R3): what a settings change leaves to do
//! after its commit, one job at a time and safe to repeat. Ending live chats when live chat
//! is switched off, and stamping conversations with a new retention; a large account's job
//! hands the rest to a fresh message rather than run out of time.

use domain::now_ms;
use domain::sessions::end_live_chat;
use domain::settings::{EffectJob, SettingsEffect};

use crate::backend::Backend;
use crate::conversation_expiry::stamp_conversations;
use crate::sessions::commit_with_retry;
use crate::settings_change::send_effect;
use crate::StoreError;

/// Live chats ended per page, and pages per queue message before handing over to a new message.
const LIVE_CHAT_PAGE: usize = 25;
const MAX_PAGES_PER_MESSAGE: usize = 40;

/// Why one effect message failed.
#[derive(Debug, thiserror::Error)]
pub enum EffectError {
    #[error("malformed effect message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("work remains; continued in a new message")]
    Continued,
}

/// Carries out one effect from its message body.
pub async fn process_effect(backend: &Backend, body: &str) -> Result<(), EffectError> {
    let job: EffectJob =
        serde_json::from_str(body).map_err(|e| EffectError::Malformed(e.to_string()))?;
    carry_out(backend, job).await
}

/// Carries out one effect. Safe to run any number of times for the same job.
pub async fn carry_out(backend: &Backend, job: EffectJob) -> Result<(), EffectError> {
    match job.effect {
        SettingsEffect::EndLiveChats => {
            let finished = end_live_chats(backend, &job.account_id).await?;
            if !finished {
                // A large account: hand the rest to a fresh message rather than time out.
                send_effect(backend, &job).await?;
                return Err(EffectError::Continued);
            }
        }
        SettingsEffect::ApplyRetention => {
            let store = backend.store.as_ref();
            let next = stamp_conversations(store, &job.account_id, job.cursor.as_deref()).await?;
            if let Some(cursor) = next {
                // The next page goes on in a fresh message, from where this one stopped.
                let rest = EffectJob {
                    cursor: Some(cursor),
                    ..job
                };
                send_effect(backend, &rest).await?;
                return Err(EffectError::Continued);
            }
        }
    }
    backend.store.complete_effect(&job).await?;
    tracing::info!(account_id = %job.account_id, version = job.version, effect = job.effect.as_str(), "settings effect done");
    Ok(())
}

/// R3: ends the account's active live-chat sessions, page by page. Their tickets become
/// pending; nothing is deleted. Returns whether none remain.
async fn end_live_chats(backend: &Backend, account_id: &str) -> Result<bool, StoreError> {
    // Read fresh, like the rest of a change's effects: this is the change's own account.
    let (_, settings) = backend.stored_and_effective_settings(account_id).await?;
    for _ in 0..MAX_PAGES_PER_MESSAGE {
        let page = backend
            .store
            .list_active_live_chats(account_id, LIVE_CHAT_PAGE)
            .await?;
        if page.is_empty() {
            return Ok(true);
        }
        let mut changed = 0;
        for conversation in page {
            // One atomic step per chat: the end user's notice, the ended session and the
            // released capacity; a retried job finds the chat ended and does nothing.
            let committed =
                commit_with_retry::<StoreError, _>(backend, conversation, |current, holder| {
                    let locale = domain::locale::in_conversation(current, &settings);
                    Ok(end_live_chat(current, holder, locale, now_ms()))
                })
                .await?;
            if committed.change.is_some() {
                changed += 1;
            }
        }
        if changed == 0 {
            // The index still lists sessions already ended (it lags): retry later.
            return Err(StoreError::Unavailable(
                "live-chat index is catching up".into(),
            ));
        }
    }
    Ok(false)
}
