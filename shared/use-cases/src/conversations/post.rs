//! Posting a message (spec "HTTP contract", `POST /v1/conversations/{cid}/messages`): the
//! write path of the product. Stored once whatever the retries (R13–R14), with the ticket
//! changes a message makes applied once too (first agent reply, R22's new session), then
//! pushed from the write when it may go at once (R27); the change stream does the rest.

use domain::attachments::AttachmentStatus;
use domain::ids::{is_valid_id, ConversationId};
use domain::model::{AppendOutcome, AuthorRole, Conversation, Message, Role};
use domain::realtime::direct_push_seq;
use domain::rules::{
    apply_message, build_message, check_post_allowed, check_replay, message_changes_ticket,
    needs_routing, validate_post, PostMessageRequest,
};
use domain::sessions::start_new_session;
use domain::workspace::with_profile;

use super::{visible, ConversationError};
use crate::auth::Principal;
use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::update_with_retry;
use crate::sessions::commit_with_retry;
use crate::DomainError;
use domain::messages::ValidatedPost;

/// What a post did.
#[derive(Debug)]
pub enum Posted {
    /// Stored now (201).
    Created(Message),
    /// A retry of a message stored before, with the same body (200, R14).
    Replayed(Message),
}

/// Posts `body` to conversation `cid` as `principal`.
pub async fn post(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    body: PostMessageRequest,
    now: i64,
) -> Result<Posted, ConversationError> {
    // The last seq is read alongside the conversation (one round trip for both); it is only
    // used once the conversation is found visible, as where the append starts looking. (A
    // path id that cannot be a conversation's never got here: the edge answered 404.)
    // The push cursor comes with them: whether this message may be pushed at once (R27's
    // fast path, `realtime::direct`).
    let last_seq = async {
        backend
            .store
            .last_seq(&principal.account_id, cid.as_str())
            .await
            .ok()
    };
    let push_cursor = async {
        if backend.push.is_linked() {
            backend
                .store
                .push_cursor(&principal.account_id, cid.as_str())
                .await
                .ok()
        } else {
            None
        }
    };
    let (conversation, last_seq, push_cursor) = tokio::join!(
        visible(backend.store.as_ref(), principal, cid),
        last_seq,
        push_cursor
    );
    let mut conversation = conversation?;
    let post = validate_post(principal.role, body)?;
    let author_role = AuthorRole::from(principal.role);
    if let Err(refused) = check_post_allowed(&conversation, author_role, post.kind) {
        // A retry of a message stored before the conversation moved on (an agent's reply,
        // then the session ended) still answers the stored message (R14); the read is only
        // paid on the refusal path.
        return match earlier_delivery(backend, &conversation, principal, &post).await? {
            Some(existing) => replayed(existing, &post.request_hash),
            None => Err(refused.into()),
        };
    }
    // R19: only clean attachments of this very conversation may be cited.
    for attachment_id in &post.attachment_ids {
        let usable = is_valid_id("att", attachment_id)
            && backend
                .store
                .get_attachment(&conversation.account_id, &conversation.id, attachment_id)
                .await?
                .is_some_and(|a| a.status == AttachmentStatus::Clean);
        if !usable {
            return Err(DomainError::AttachmentNotUsable(attachment_id.clone()).into());
        }
    }
    // What the end user's token says of them (name, email) is validated before anything is
    // stored, and kept on the conversation when it is news.
    if principal.role == Role::EndUser {
        let profile = principal
            .profile_claims
            .merged_into(&conversation.end_user_profile)?;
        if profile != conversation.end_user_profile {
            conversation = update_with_retry::<ConversationError, _>(
                backend.store.as_ref(),
                conversation,
                |current| Ok(with_profile(current, &profile, now)),
            )
            .await?;
        }
    }

    // A message that changes the ticket (first agent reply, R22 new session) must not apply
    // that change twice on a retry: look for an earlier delivery first. Plain messages skip
    // these reads and rely on the store's atomic idempotency check.
    if message_changes_ticket(&conversation, author_role, post.kind) {
        let settings = backend.settings(&principal.account_id).await?;
        if let Some(existing) = earlier_delivery(backend, &conversation, principal, &post).await? {
            return replayed(existing, &post.request_hash);
        }
        // R22: a new session also stops counting the previous ticket against its agent.
        let kind = post.kind;
        conversation =
            commit_with_retry::<ConversationError, _>(backend, conversation, |current, holder| {
                Ok(
                    apply_message(current, author_role, kind, &settings, now).map(|mut next| {
                        next.stamp(principal.actor());
                        start_new_session(current, next, holder)
                    }),
                )
            })
            .await?
            .conversation;
        if needs_routing(&conversation) {
            crate::router::request_routing(backend, &conversation, "bot_disabled").await?;
        }
    }

    let request_hash = post.request_hash.clone();
    let mut message = build_message(&conversation, &principal.user_id, author_role, post, now);
    // Without it (a failed read), the store reads the last seq itself.
    message.seq = last_seq.map_or(0, |last| last + 1);
    message.direct_push_seq = last_seq
        .zip(push_cursor)
        .and_then(|(last, cursor)| direct_push_seq(last, cursor));
    // Whom it would reach is looked up while it is stored (only when it may go at once).
    let (appended, reach) = tokio::join!(
        backend.store.append_message(&message),
        crate::realtime::writer_reach(backend.store.as_ref(), &conversation, &message)
    );
    match appended? {
        AppendOutcome::Created(stored) => {
            tracing::info!(
                account_id = %stored.account_id,
                conversation_id = %stored.conversation_id,
                seq = stored.seq,
                kind = ?stored.kind,
                "message stored"
            );
            push_stored(backend, &conversation, &stored, reach, now).await;
            Ok(Posted::Created(stored))
        }
        AppendOutcome::Existing(existing) => replayed(existing, &request_hash),
    }
}

/// Stored, so the post succeeded whatever the push does: a failed push is the fan-out's to
/// make up for.
async fn push_stored(
    backend: &Backend,
    conversation: &Conversation,
    stored: &Message,
    reach: Option<Result<crate::realtime::Reach, crate::StoreError>>,
    now: i64,
) {
    let pushed = crate::realtime::push_from_writer(
        backend.store.as_ref(),
        backend.push.as_ref(),
        conversation,
        stored,
        reach,
        now,
    )
    .await;
    if let Err(error) = pushed {
        tracing::warn!(%error, seq = stored.seq, "push from the write failed; the stream pushes it");
    }
}

/// The message `principal` already stored in `conversation` under `post`'s client_message_id.
async fn earlier_delivery(
    backend: &Backend,
    conversation: &Conversation,
    principal: &Principal,
    post: &ValidatedPost,
) -> Result<Option<Message>, StoreError> {
    backend
        .store
        .find_message(
            &conversation.account_id,
            &conversation.id,
            &principal.user_id,
            &post.client_message_id,
        )
        .await
}

/// R14: the original message for a same-body retry, a conflict for a different body.
fn replayed(existing: Message, request_hash: &str) -> Result<Posted, ConversationError> {
    check_replay(&existing, request_hash)?;
    Ok(Posted::Replayed(existing))
}
