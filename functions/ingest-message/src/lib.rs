//! `ingest-message`: conversations, messages, typing/read/delivered events and bot handoff.
//!
//! Routes (spec "HTTP contract"):
//! - `POST /v1/conversations`, `GET /v1/conversations`, `GET /v1/conversations/{cid}`
//! - `POST|GET /v1/conversations/{cid}/messages`
//! - `POST /v1/conversations/{cid}/events`, `POST /v1/conversations/{cid}/handoff`
//!
//! A `bot` integration key may read a conversation and its messages, post text and rich
//! messages as the bot, and hand off, while the bot holds the conversation.
//!
//! Each route parses its request, calls one use case of `use_cases::conversations` and renders
//! the answer with `domain::views`.

use http::StatusCode;
use serde::Deserialize;

use domain::model::Role;
use domain::now_ms;
use domain::rules::{
    clamp_page, EventRequest, PostMessageRequest, DEFAULT_MESSAGE_PAGE, MAX_CONVERSATION_PAGE,
    MAX_MESSAGE_PAGE,
};
use domain::views::{
    accepted_view, conversation_view, conversations_view, handoff_view, message_page_view,
    posted_message_view,
};
use edge::api::{
    conversation_id, json, parse_json, query_param, require_role, serve, ApiError, ApiRequest,
    ApiResponse,
};
use edge::routes::{Matched, Operation, INGEST_MESSAGE};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::conversations::{self, Before, Posted};

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(INGEST_MESSAGE, backend, &request, dispatch).await
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    let principal = &principal;
    let store = backend.store.as_ref();
    match route.operation() {
        Operation::ListConversations => {
            require_role(principal, &[Role::EndUser])?;
            let limit = clamp_page(
                query_param(request, "limit")?,
                MAX_CONVERSATION_PAGE,
                MAX_CONVERSATION_PAGE,
            );
            let listed = conversations::list(store, principal, limit).await?;
            Ok(json(StatusCode::OK, &conversations_view(&listed, now_ms())))
        }
        Operation::CreateConversation => {
            require_role(principal, &[Role::EndUser])?;
            let CreateConversationRequest {} = parse_json(request)?;
            let now = now_ms();
            let created = conversations::create(backend, principal, now).await?;
            Ok(json(StatusCode::CREATED, &conversation_view(&created, now)))
        }
        Operation::GetConversation => {
            let cid = &conversation_id(&route)?;
            let conversation = conversations::visible(store, principal, cid).await?;
            Ok(json(
                StatusCode::OK,
                &conversation_view(&conversation, now_ms()),
            ))
        }
        Operation::ListMessages => {
            let after_seq: u64 = query_param(request, "after_seq")?.unwrap_or(0);
            let limit = clamp_page(
                query_param(request, "limit")?,
                DEFAULT_MESSAGE_PAGE,
                MAX_MESSAGE_PAGE,
            );
            let before = before_seq(request)?;
            let cid = &conversation_id(&route)?;
            let page = match before {
                Some(before) => {
                    conversations::messages_before(store, principal, cid, before, limit).await?
                }
                None => {
                    conversations::messages_after(store, principal, cid, after_seq, limit).await?
                }
            };
            Ok(json(
                StatusCode::OK,
                &message_page_view(
                    &page.messages,
                    page.next_after_seq,
                    page.earlier,
                    principal.role,
                ),
            ))
        }
        Operation::PostMessage => {
            let body: PostMessageRequest = parse_json(request)?;
            let cid = &conversation_id(&route)?;
            let (status, message) =
                match conversations::post(backend, principal, cid, body, now_ms()).await? {
                    Posted::Created(message) => (StatusCode::CREATED, message),
                    Posted::Replayed(message) => (StatusCode::OK, message),
                };
            Ok(json(status, &posted_message_view(&message, principal.role)))
        }
        Operation::PostEvent => {
            let event: EventRequest = parse_json(request)?;
            let cid = &conversation_id(&route)?;
            conversations::post_event(backend, principal, cid, &event, now_ms()).await?;
            Ok(json(StatusCode::ACCEPTED, &accepted_view()))
        }
        Operation::Handoff => {
            let HandoffRequest { reason } = parse_json(request)?;
            let cid = &conversation_id(&route)?;
            let conversation =
                conversations::hand_off(backend, principal, cid, reason, now_ms()).await?;
            Ok(json(StatusCode::ACCEPTED, &handoff_view(&conversation)))
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateConversationRequest {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoffRequest {
    #[serde(default)]
    reason: Option<String>,
}

/// `?before_seq=N` or `?before_seq=latest`: a page read backwards.
fn before_seq(request: &ApiRequest) -> Result<Option<Before>, ApiError> {
    Ok(
        match query_param::<String>(request, "before_seq")?.as_deref() {
            None => None,
            Some("latest") => Some(Before::Latest),
            Some(number) => Some(Before::Seq(number.parse::<u64>().map_err(|_| {
                ApiError::invalid_request("before_seq is a sequence number or latest")
            })?)),
        },
    )
}
