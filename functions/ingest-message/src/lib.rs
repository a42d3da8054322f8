//! `ingest-message`: conversations, messages, typing/read/delivered events and bot handoff.
//!
//! Routes (spec "HTTP contract"):
//! - `POST /v1/conversations`, `GET /v1/conversations`, `GET /v1/conversations/{cid}`
//! - `POST|GET /v1/conversations/{cid}/messages`
//! - `POST /v1/conversations/{cid}/events`, `POST /v1/conversations/{cid}/handoff`
//!
//! A `bot` integration key may read a conversation and its messages, post text and rich
//! messages as the bot, and hand off, while the bot holds the conversation.

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use domain::attachments::AttachmentStatus;
use domain::ids::is_valid_id;
use domain::model::{
    AppendOutcome, AuthorRole, Control, Conversation, EndUserProfile, Message, Role,
};
use domain::now_ms;
use domain::realtime::direct_push_seq;
use domain::rules::{
    apply_event, apply_message, build_message, check_post_allowed, check_replay, clamp_page,
    hand_off, message_changes_ticket, needs_routing, new_conversation, validate_post, visible_to,
    EventRequest, PostMessageRequest, DEFAULT_MESSAGE_PAGE, MAX_CONVERSATION_PAGE,
    MAX_HANDOFF_REASON_CHARS, MAX_MESSAGE_PAGE,
};
use domain::sessions::start_new_session;
use domain::views::{conversation_view, message_view};
use domain::workspace::with_profile;
use edge::api::{
    authenticate, check_body_size, handle_logged, json, parse_json, query_param, require_role,
    visible_conversation, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{route_of, Operation, INGEST_MESSAGE};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::lifecycle::commit_with_retry;
use use_cases::ports::update_with_retry;
use use_cases::DomainError;

/// End users' history skips internal notes; refill a page at most this many times.
const MAX_PAGE_REFILLS: usize = 5;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    handle_logged(INGEST_MESSAGE, &request, dispatch(backend, &request)).await
}

async fn dispatch(backend: &Backend, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    // Size first: an oversize body costs no AWS call at all.
    check_body_size(request)?;
    let route = route_of(INGEST_MESSAGE, request)?;
    let principal = authenticate(backend, request, route.integration_scope()).await?;
    let cid = route.param("cid");
    match route.operation() {
        Operation::ListConversations => list_conversations(backend, &principal, request).await,
        Operation::CreateConversation => create_conversation(backend, &principal, request).await,
        Operation::GetConversation => get_conversation(backend, &principal, cid).await,
        Operation::ListMessages => list_messages(backend, &principal, cid, request).await,
        Operation::PostMessage => post_message(backend, &principal, cid, request).await,
        Operation::PostEvent => post_event(backend, &principal, cid, request).await,
        Operation::Handoff => handoff(backend, &principal, cid, request).await,
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

async fn load_conversation(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
) -> Result<Conversation, ApiError> {
    visible_conversation(backend.store.as_ref(), principal, cid).await
}

/// Asks routing to place a conversation that waits for an agent.
async fn request_routing(
    backend: &Backend,
    conversation: &Conversation,
    reason: &str,
) -> Result<(), ApiError> {
    Ok(use_cases::router::request_routing(backend, conversation, reason).await?)
}

// ---------------------------------------------------------------------------------------------
// Conversations.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateConversationRequest {}

async fn create_conversation(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    require_role(principal, &[Role::EndUser])?;
    let CreateConversationRequest {} = parse_json(request)?;
    // A token that says who the end user is wrongly is refused before anything is stored.
    let profile = principal
        .profile_claims
        .merged_into(&EndUserProfile::default())?;
    let now = now_ms();
    // R33: at most 20 new conversations an hour per end user or visitor.
    use_cases::quotas::charge(
        backend.store.as_ref(),
        principal,
        &use_cases::quotas::CONVERSATIONS_PER_HOUR,
        &[1],
        now,
    )
    .await?;
    let settings = backend.settings(&principal.account_id).await?;
    let mut conversation =
        new_conversation(&principal.account_id, &principal.user_id, &settings, now);
    conversation.end_user_profile = profile;
    backend.store.create_conversation(&conversation).await?;
    // R8: with the bot off, a new conversation goes straight to routing.
    if needs_routing(&conversation) {
        request_routing(backend, &conversation, "bot_disabled").await?;
    }
    tracing::info!(account_id = %conversation.account_id, conversation_id = %conversation.id, "conversation created");
    Ok(json(
        StatusCode::CREATED,
        &conversation_view(&conversation, now),
    ))
}

async fn list_conversations(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    require_role(principal, &[Role::EndUser])?;
    let limit = clamp_page(
        query_param(request, "limit")?,
        MAX_CONVERSATION_PAGE,
        MAX_CONVERSATION_PAGE,
    );
    let conversations = backend
        .store
        .list_conversations_for_user(&principal.account_id, &principal.user_id, limit)
        .await?;
    let now = now_ms();
    let views: Vec<_> = conversations
        .iter()
        .map(|c| conversation_view(c, now))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "conversations": views })))
}

async fn get_conversation(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
) -> Result<ApiResponse, ApiError> {
    let conversation = load_conversation(backend, principal, cid).await?;
    Ok(json(
        StatusCode::OK,
        &conversation_view(&conversation, now_ms()),
    ))
}

// ---------------------------------------------------------------------------------------------
// Messages.

async fn post_message(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body: PostMessageRequest = parse_json(request)?;
    // The last seq is read alongside the conversation (one round trip for both); it is only
    // used once the conversation is found visible, as where the append starts looking. A
    // path id that cannot be a conversation's costs no read (it is a plain 404).
    // The push cursor comes with them: whether this message may be pushed at once (R27's
    // fast path, `realtime::direct`).
    let valid_id = is_valid_id("c", cid);
    let last_seq = async {
        if valid_id {
            backend
                .store
                .last_seq(&principal.account_id, cid)
                .await
                .ok()
        } else {
            None
        }
    };
    let push_cursor = async {
        if valid_id && backend.push.is_linked() {
            backend
                .store
                .push_cursor(&principal.account_id, cid)
                .await
                .ok()
        } else {
            None
        }
    };
    let (conversation, last_seq, push_cursor) = tokio::join!(
        load_conversation(backend, principal, cid),
        last_seq,
        push_cursor
    );
    let conversation = conversation?;
    let post = validate_post(principal.role, body)?;
    check_post_allowed(&conversation, AuthorRole::from(principal.role), post.kind)?;
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
    let profile = match principal.role {
        Role::EndUser => Some(
            principal
                .profile_claims
                .merged_into(&conversation.end_user_profile)?,
        ),
        _ => None,
    };
    let author_role = AuthorRole::from(principal.role);
    let now = now_ms();
    let kind = post.kind;

    // A message that changes the ticket (first agent reply, R22 new session) must not apply
    // that change twice on a retry: look for an earlier delivery first. Plain messages skip
    // these reads and rely on the store's atomic idempotency check.
    let mut conversation = conversation;
    if let Some(profile) = profile.filter(|p| *p != conversation.end_user_profile) {
        conversation =
            update_with_retry::<ApiError, _>(backend.store.as_ref(), conversation, |current| {
                Ok(with_profile(current, &profile, now))
            })
            .await?;
    }
    if message_changes_ticket(&conversation, author_role, kind) {
        let settings = backend.settings(&principal.account_id).await?;
        let earlier = backend
            .store
            .find_message(
                &conversation.account_id,
                &conversation.id,
                &principal.user_id,
                &post.client_message_id,
            )
            .await?;
        if let Some(existing) = earlier {
            return replay(existing, &post.request_hash, principal.role);
        }
        // R22: a new session also stops counting the previous ticket against its agent.
        conversation =
            commit_with_retry::<ApiError, _>(backend, conversation, |current, holder| {
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
            request_routing(backend, &conversation, "bot_disabled").await?;
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
        use_cases::live::writer_reach(backend.store.as_ref(), &conversation, &message)
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
            // Stored, so the answer is 201 whatever the push does: a failed push is the
            // fan-out's to make up for.
            let pushed = use_cases::live::push_from_writer(
                backend.store.as_ref(),
                backend.push.as_ref(),
                &conversation,
                &stored,
                reach,
                now,
            )
            .await;
            if let Err(error) = pushed {
                tracing::warn!(%error, seq = stored.seq, "push from the write failed; the stream pushes it");
            }
            Ok(json(
                StatusCode::CREATED,
                &json!({ "message": message_view(&stored, principal.role) }),
            ))
        }
        AppendOutcome::Existing(existing) => replay(existing, &request_hash, principal.role),
    }
}

/// R14: the original message for a same-body retry (200), 409 for a different body.
fn replay(existing: Message, request_hash: &str, viewer: Role) -> Result<ApiResponse, ApiError> {
    check_replay(&existing, request_hash)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "message": message_view(&existing, viewer) }),
    ))
}

async fn list_messages(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let after_seq: u64 = query_param(request, "after_seq")?.unwrap_or(0);
    let limit = clamp_page(
        query_param(request, "limit")?,
        DEFAULT_MESSAGE_PAGE,
        MAX_MESSAGE_PAGE,
    );
    let conversation = load_conversation(backend, principal, cid).await?;
    if let Some(before) = query_param::<String>(request, "before_seq")? {
        return list_messages_before(backend, principal, &conversation, &before, limit).await;
    }
    let mut cursor = after_seq;
    let mut visible = Vec::new();
    for _ in 0..MAX_PAGE_REFILLS {
        let page = backend
            .store
            .list_messages(&conversation.account_id, &conversation.id, cursor, limit)
            .await?;
        let exhausted = page.len() < limit;
        for message in page {
            if visible.len() == limit {
                break;
            }
            cursor = message.seq;
            if visible_to(principal.role, &message) {
                visible.push(message_view(&message, principal.role));
            }
        }
        if exhausted || visible.len() == limit {
            break;
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "messages": visible, "next_after_seq": cursor }),
    ))
}

/// `?before_seq=N` (or `latest`): the last `limit` messages the caller may see with a lower
/// seq, oldest first: a widget opens a conversation at its end and scrolls back from there.
/// Seqs are gap-free (R13), so a page of seqs below `N` is read with the forward cursor.
/// `prev_before_seq` continues backwards (null at the start); `next_after_seq` forwards.
async fn list_messages_before(
    backend: &Backend,
    principal: &Principal,
    conversation: &Conversation,
    before: &str,
    limit: usize,
) -> Result<ApiResponse, ApiError> {
    let (account_id, cid) = (&conversation.account_id, &conversation.id);
    let end = backend.store.last_seq(account_id, cid).await? + 1;
    let before = match before {
        "latest" => end,
        number => number
            .parse::<u64>()
            .map_err(|_| ApiError::invalid_request("before_seq is a sequence number or latest"))?
            .min(end),
    };
    // Newest first while collecting; `lowest` is the lowest seq examined.
    let (mut visible, mut lowest, mut upper) = (Vec::new(), before, before);
    for _ in 0..MAX_PAGE_REFILLS {
        if upper <= 1 || visible.len() == limit {
            break;
        }
        let after = upper.saturating_sub(1 + limit as u64);
        let page = backend
            .store
            .list_messages(account_id, cid, after, (upper - 1 - after) as usize)
            .await?;
        for message in page.iter().rev() {
            if visible.len() == limit {
                break;
            }
            lowest = message.seq;
            if visible_to(principal.role, message) {
                visible.push(message_view(message, principal.role));
            }
        }
        upper = after + 1;
    }
    visible.reverse();
    let next_after_seq = before.saturating_sub(1);
    Ok(json(
        StatusCode::OK,
        &json!({
            "messages": visible,
            "next_after_seq": next_after_seq,
            "prev_before_seq": (lowest > 1).then_some(lowest),
        }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Events and handoff.

async fn post_event(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let event: EventRequest = parse_json(request)?;
    let conversation = load_conversation(backend, principal, cid).await?;
    let last_seq = match event.seq {
        Some(_) => {
            backend
                .store
                .last_seq(&conversation.account_id, &conversation.id)
                .await?
        }
        None => 0,
    };
    let now = now_ms();
    update_with_retry::<ApiError, _>(backend.store.as_ref(), conversation, |current| {
        apply_event(current, principal.role, &event, last_seq, now).map_err(ApiError::from)
    })
    .await?;
    Ok(json(StatusCode::ACCEPTED, &json!({ "accepted": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoffRequest {
    #[serde(default)]
    reason: Option<String>,
}

async fn handoff(
    backend: &Backend,
    principal: &Principal,
    cid: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let HandoffRequest { reason } = parse_json(request)?;
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_HANDOFF_REASON_CHARS)
    {
        return Err(DomainError::Unprocessable(format!(
            "reason is limited to {MAX_HANDOFF_REASON_CHARS} characters"
        ))
        .into());
    }
    let conversation = load_conversation(backend, principal, cid).await?;
    let now = now_ms();
    let conversation =
        update_with_retry::<ApiError, _>(backend.store.as_ref(), conversation, |current| {
            // A bot integration passes control only while it has it (spec "Integrations").
            if principal.role == Role::Integration && current.control != Control::Bot {
                return Err(DomainError::NotUnderBotControl.into());
            }
            if current.session == domain::model::SessionState::Ended {
                return Err(DomainError::InvalidTransition(
                    "the session has ended; a new message starts a new session".into(),
                )
                .into());
            }
            Ok(hand_off(current, reason.clone(), now).map(|mut next| {
                next.stamp(principal.actor());
                next
            }))
        })
        .await?;
    // Published on every call while the conversation waits, so a retry after a failed
    // publish still reaches routing.
    if needs_routing(&conversation) {
        request_routing(backend, &conversation, "handoff").await?;
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({ "control": conversation.control, "assignee": conversation.assignee }),
    ))
}
