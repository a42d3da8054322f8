//! The built-in bot's turn (`domain::bot`), taken from the change stream: an end user's new
//! message in a conversation the bot holds gets one answer per session (the articles that
//! match it, or the greeting), unless the account connected a bot of its own (an integration
//! with the `bot` scope). Run by the fan-out, so a crash after the end user's write still gets
//! them an answer, the search never slows the end user's request, and a redelivered change
//! finds the answer already there.

use crate::error::StoreError;
use crate::knowledge::{find, KnowledgeIndexes};
use crate::ports::Store;
use crate::settings_cache::AccountSettings;
use domain::bot::MAX_ANSWER_ARTICLES;
use domain::knowledge::text::content_words;
use domain::knowledge::{ArticleMatch, SearchQuery, MAX_QUERY_CHARS};
use domain::model::{AuthorRole, Control, Conversation, Message};
use domain::realtime::{Stored, StoredChange};
use domain::settings::Settings;

/// Answers `change` when it is an end user's first message of a session under the bot;
/// `conversation` is that message's conversation as stored now (the fan-out's read).
pub async fn answer(
    store: &dyn Store,
    (settings, indexes): (&(impl AccountSettings + ?Sized), &KnowledgeIndexes),
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
    if !domain::bot::answers(conversation, message, &settings) {
        return Ok(());
    }
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
            domain::bot::BUILT_IN_BOT_ID,
            &domain::bot::answer_client_message_id(conversation),
        )
        .await?;
    if earlier.is_some() {
        return Ok(());
    }
    let articles = if settings.bot.answer_from_articles {
        matching_articles(store, indexes, conversation, message, &settings).await?
    } else {
        None
    };
    let answer =
        domain::bot::first_answer(conversation, message, &settings, articles.as_deref(), now);
    if let Some(answer) = answer {
        store.append_message(&answer).await?;
        tracing::info!(
            account_id = %account_id,
            conversation_id = %conversation.id,
            articles = articles.as_ref().map(Vec::len),
            "built-in bot answered"
        );
    }
    Ok(())
}

/// The published articles in the conversation's language that match a content word of
/// `message` (`content_words`: without "is" or "there", a greeting matches nothing), best
/// first; `None` when the account publishes none (the greeting answers: "not found" would say
/// nothing to an account without a help centre). No score floor: BM25's scores depend on the
/// size of the base, and one article alone never scores 1.
async fn matching_articles(
    store: &dyn Store,
    indexes: &KnowledgeIndexes,
    conversation: &Conversation,
    message: &Message,
    settings: &Settings,
) -> Result<Option<Vec<ArticleMatch>>, StoreError> {
    // A long message is searched by its beginning, as a search box would take it; an
    // attachment's empty text finds nothing.
    let locale = domain::locale::in_conversation(conversation, settings);
    let text = message.text.as_deref().unwrap_or_default();
    let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
    let text = content_words(&text, locale);
    let query = SearchQuery {
        text: &text,
        locale: Some(locale),
        published_only: true,
        limit: MAX_ANSWER_ARTICLES,
    };
    let (base, found) = find(store, indexes, &conversation.account_id, &query).await?;
    if base.published == 0 {
        return Ok(None);
    }
    Ok(Some(found))
}
