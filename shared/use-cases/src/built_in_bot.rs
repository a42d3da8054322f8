//! The built-in bot's turn (`domain::bot`), taken from the change stream: an end user's new
//! message in a conversation the bot holds gets the greeting once per session, unless the
//! account connected a bot of its own (an integration with the `bot` scope). Run by the
//! fan-out, so a crash after the end user's write still gets them an answer, and a
//! redelivered change finds the greeting already there.

use crate::error::StoreError;
use crate::ports::Store;
use crate::settings_cache::AccountSettings;
use domain::model::{AuthorRole, Control, Conversation};
use domain::realtime::{Stored, StoredChange};

/// Answers `change` when it is an end user's first message of a session under the bot;
/// `conversation` is that message's conversation as stored now (the fan-out's read).
pub async fn answer(
    store: &dyn Store,
    settings: &(impl AccountSettings + ?Sized),
    change: &StoredChange,
    conversation: Option<&Conversation>,
    now: i64,
) -> Result<(), StoreError> {
    let (None, Some(Stored::Message(message))) = (&change.before, &change.after) else {
        return Ok(());
    };
    let Some(conversation) = conversation.filter(|c| {
        c.control == Control::Bot
            && c.id == message.conversation_id
            && c.account_id == message.account_id
    }) else {
        return Ok(());
    };
    if message.author_role != AuthorRole::EndUser {
        return Ok(());
    }
    let account_id = &message.account_id;
    let settings = settings.account_settings(account_id).await?;
    let Some(reply) = domain::bot::greeting_reply(conversation, message, &settings, now) else {
        return Ok(());
    };
    // A company that connected its own bot answers itself (spec "Integrations").
    let connected_bot = store
        .list_integrations(account_id)
        .await?
        .iter()
        .any(|i| i.has_scope(domain::integrations::IntegrationScope::Bot));
    if connected_bot {
        return Ok(());
    }
    // Answered already (a later message of the session, or this change delivered again).
    let earlier = store
        .find_message(
            account_id,
            &conversation.id,
            &reply.author_id,
            &reply.client_message_id,
        )
        .await?;
    if earlier.is_none() {
        store.append_message(&reply).await?;
        tracing::info!(account_id = %account_id, conversation_id = %conversation.id, "built-in bot greeted");
    }
    Ok(())
}
