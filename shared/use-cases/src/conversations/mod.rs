//! Conversations and their messages: the use cases behind `ingest-message`'s routes (spec
//! "HTTP contract"). Each takes what the edge parsed and answers entities or a
//! [`ConversationError`]; the edge renders them (`domain::views`) and maps the error to HTTP.
//!
//! - [`create`] (R8, R33), [`list`] and [`visible`]: a caller's conversations.
//! - [`post`]: a message appended once (R13–R14), the ticket changes it makes (R22), pushed
//!   from the write when it may be (R27).
//! - [`history`]: pages of messages, forwards or backwards.
//! - [`post_event`] (typing, read, delivered) and [`hand_off`] (bot to human).

mod history;
mod post;

pub use history::{messages_after, messages_before, Before, MessagePage};
pub use post::{post, Posted};

use domain::ids::ConversationId;
use domain::model::{Control, Conversation, EndUserProfile, Role, SessionState};
use domain::rules::{
    apply_event, hand_off as hand_off_rule, needs_routing, new_conversation, EventRequest,
    MAX_HANDOFF_REASON_CHARS,
};
use thiserror::Error;

use crate::auth::Principal;
use crate::backend::Backend;
use crate::ports::{update_with_retry, ConversationStore};
use crate::quotas::{self, QuotaError};
use crate::{DomainError, StoreError};

/// Why a conversation use case refused or failed.
#[derive(Debug, Error)]
pub enum ConversationError {
    /// A rule of the domain refused the request (400, 403, 409 or 422 at the edge).
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// R33: the caller's quota is spent.
    #[error(transparent)]
    Quota(#[from] QuotaError),
    /// No conversation of that id that the caller may see.
    #[error("conversation not found")]
    NotFound,
}

/// The conversation `cid` as `principal` may see it (`auth::visible_conversation`).
pub async fn visible(
    store: &(impl ConversationStore + ?Sized),
    principal: &Principal,
    cid: &ConversationId,
) -> Result<Conversation, ConversationError> {
    crate::auth::visible_conversation(store, principal, cid)
        .await?
        .ok_or(ConversationError::NotFound)
}

/// A new conversation of the calling end user. What their token says of them is refused
/// before anything is stored when it is wrong; R33 charges their hourly quota; R8: with the
/// bot off it goes straight to routing.
pub async fn create(
    backend: &Backend,
    principal: &Principal,
    now: i64,
) -> Result<Conversation, ConversationError> {
    let profile = principal
        .profile_claims
        .merged_into(&EndUserProfile::default())?;
    quotas::charge(
        backend.store.as_ref(),
        principal,
        &quotas::CONVERSATIONS_PER_HOUR,
        &[1],
        now,
    )
    .await?;
    let settings = backend.settings(&principal.account_id).await?;
    let mut conversation =
        new_conversation(&principal.account_id, &principal.user_id, &settings, now);
    conversation.end_user_profile = profile;
    backend.store.create_conversation(&conversation).await?;
    if needs_routing(&conversation) {
        crate::router::request_routing(backend, &conversation, "bot_disabled").await?;
    }
    tracing::info!(account_id = %conversation.account_id, conversation_id = %conversation.id, "conversation created");
    Ok(conversation)
}

/// The calling end user's conversations, newest first, at most `limit`.
pub async fn list(
    store: &dyn ConversationStore,
    principal: &Principal,
    limit: usize,
) -> Result<Vec<Conversation>, StoreError> {
    store
        .list_conversations_for_user(&principal.account_id, &principal.user_id, limit)
        .await
}

/// Typing, read and delivered (`rules::apply_event`); a read or delivered mark names a seq
/// that must exist.
pub async fn post_event(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    event: &EventRequest,
    now: i64,
) -> Result<(), ConversationError> {
    let conversation = visible(backend.store.as_ref(), principal, cid).await?;
    let last_seq = match event.seq {
        Some(_) => {
            backend
                .store
                .last_seq(&conversation.account_id, &conversation.id)
                .await?
        }
        None => 0,
    };
    update_with_retry::<ConversationError, _>(backend.store.as_ref(), conversation, |current| {
        Ok(apply_event(current, principal.role, event, last_seq, now)?)
    })
    .await?;
    Ok(())
}

/// The bot passes the conversation to a human. A bot integration may only while it holds
/// the conversation (spec "Integrations"); an ended session cannot be handed off. Routing is
/// asked on every call while the conversation waits, so a retry after a failed publish still
/// reaches it.
pub async fn hand_off(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    reason: Option<String>,
    now: i64,
) -> Result<Conversation, ConversationError> {
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_HANDOFF_REASON_CHARS)
    {
        return Err(DomainError::Unprocessable(format!(
            "reason is limited to {MAX_HANDOFF_REASON_CHARS} characters"
        ))
        .into());
    }
    let conversation = visible(backend.store.as_ref(), principal, cid).await?;
    let conversation = update_with_retry::<ConversationError, _>(
        backend.store.as_ref(),
        conversation,
        |current| {
            if principal.role == Role::Integration && current.control != Control::Bot {
                return Err(DomainError::NotUnderBotControl.into());
            }
            if current.session == SessionState::Ended {
                return Err(DomainError::InvalidTransition(
                    "the session has ended; a new message starts a new session".into(),
                )
                .into());
            }
            Ok(hand_off_rule(current, reason.clone(), now).map(|mut next| {
                next.stamp(principal.actor());
                next
            }))
        },
    )
    .await?;
    if needs_routing(&conversation) {
        crate::router::request_routing(backend, &conversation, "handoff").await?;
    }
    Ok(conversation)
}
