//! `agent-workspace`: what agents and admins work from (spec "Agent workspace").
//!
//! Routes:
//! - `GET /v1/inbox?view=mine|waiting|all&limit=&cursor=` → a page of the view
//! - `PATCH /v1/conversations/{cid}` `{priority?, group?, tags?}` → the conversation
//! - `POST /v1/conversations/{cid}/transfer` `{agent_id} | {group}` → 202, routed again
//! - `GET /v1/conversations/{cid}/history?after_revision=&limit=` → the ticket's field changes
//! - `GET /v1/end-users/{user_id}/conversations?limit=` → the end user's conversations
//! - `POST /v1/conversations/{cid}/messages/{seq}/redact` → the message's tombstone (staff)
//! - `DELETE /v1/end-users/{user_id}` → what the erasure did (admins; `use_cases::erasure`)
//! - `POST /v1/articles`, `PUT|DELETE /v1/articles/{article_id}` (admins), `GET /v1/articles`
//!   (staff), `GET /v1/articles/{article_id}` → the knowledge base (`use_cases::knowledge`)
//! - `GET /v1/articles/search?q=&locale=&limit=` → ranked articles, published ones only for
//!   end users and visitors
//! - `POST|GET /v1/macros`, `GET|PUT|DELETE /v1/macros/{macro_id}` → shared macros (admins)
//!   and agents' own (`use_cases::macros`)
//! - `POST /v1/conversations/{cid}/macros/{macro_id}/apply` `{client_message_id, preview?}` →
//!   the rendered text (preview), or the posted message with the macro's actions applied

use http::StatusCode;
use serde::Deserialize;

use domain::knowledge::{ArticleDraft, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS};
use domain::locale::Locale;
use domain::macros::MacroDraft;
use domain::now_ms;
use domain::rules::{clamp_page, MAX_CONVERSATION_PAGE};
use domain::sessions::TransferTarget;
use domain::settings::{DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
use domain::views::{
    article_matches_view, article_view, articles_view, audit_page_view, conversation_view,
    conversations_view, history_view, inbox_page_view, macro_preview_view, macro_view, macros_view,
    message_view, posted_message_view,
};
use domain::workspace::{FieldsPatch, InboxView, DEFAULT_INBOX_PAGE, MAX_INBOX_PAGE};
use edge::api::{
    conversation_id, json, parse_json, query_param, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, AGENT_WORKSPACE};
use use_cases::agent_workspace::{
    change_fields, end_user_conversations, history, list_inbox, transfer_conversation,
};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::conversations::Posted;
use use_cases::erasure::{erase_end_user, redact_message};
use use_cases::knowledge::{article, articles, change_article, create_article, search};
use use_cases::macros::{
    apply_macro, change_macro, create_macro, macro_audit, macros, usable_macro, Applied,
};

/// Most history entries on one page.
const MAX_HISTORY_PAGE: usize = 200;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(AGENT_WORKSPACE, backend, &request, dispatch).await
}

/// `POST /v1/conversations/{cid}/macros/{macro_id}/apply`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyMacroRequest {
    client_message_id: String,
    #[serde(default)]
    preview: bool,
}

/// `{agent_id}` or `{group}`, exactly one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferRequest {
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

impl TransferRequest {
    fn target(self) -> Result<TransferTarget, ApiError> {
        match (self.agent_id, self.group) {
            (Some(agent), None) => Ok(TransferTarget::Agent(agent)),
            (None, Some(group)) => Ok(TransferTarget::Group(group)),
            _ => Err(ApiError::invalid_request(
                "give exactly one of agent_id and group",
            )),
        }
    }
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    let store = backend.store.as_ref();
    match route.operation() {
        Operation::ListInbox => {
            let view: String = query_param(request, "view")?.unwrap_or_else(|| "mine".into());
            let view = InboxView::parse(&view)
                .ok_or_else(|| ApiError::invalid_request("view must be mine, waiting or all"))?;
            let cursor: Option<String> = query_param(request, "cursor")?;
            let limit = clamp_page(
                query_param(request, "limit")?,
                DEFAULT_INBOX_PAGE,
                MAX_INBOX_PAGE,
            );
            let page = list_inbox(store, &principal, view, cursor.as_deref(), limit).await?;
            Ok(json(
                StatusCode::OK,
                &inbox_page_view(&page.conversations, page.next_cursor.as_deref()),
            ))
        }
        Operation::ChangeConversationFields => {
            let patch: FieldsPatch = parse_json(request)?;
            let changed =
                change_fields(backend, &principal, &conversation_id(&route)?, &patch).await?;
            Ok(json(StatusCode::OK, &conversation_view(&changed, now_ms())))
        }
        Operation::TransferConversation => {
            let body: TransferRequest = parse_json(request)?;
            let target = body.target()?;
            let moved =
                transfer_conversation(backend, &principal, &conversation_id(&route)?, target)
                    .await?;
            Ok(json(
                StatusCode::ACCEPTED,
                &conversation_view(&moved, now_ms()),
            ))
        }
        Operation::ConversationHistory => {
            let after: u64 = query_param(request, "after_revision")?.unwrap_or(0);
            let limit = clamp_page(query_param(request, "limit")?, 50, MAX_HISTORY_PAGE);
            let entries =
                history(store, &principal, &conversation_id(&route)?, after, limit).await?;
            Ok(json(StatusCode::OK, &history_view(&entries)))
        }
        Operation::ListEndUserConversations => {
            let limit = clamp_page(
                query_param(request, "limit")?,
                MAX_CONVERSATION_PAGE,
                MAX_CONVERSATION_PAGE,
            );
            let found =
                end_user_conversations(store, &principal, route.param("user_id"), limit).await?;
            Ok(json(StatusCode::OK, &conversations_view(&found, now_ms())))
        }
        Operation::RedactMessage => {
            let seq: u64 = route
                .param("seq")
                .parse()
                .map_err(|_| ApiError::invalid_request("seq is a message's sequence number"))?;
            let tombstone = redact_message(
                backend,
                &principal,
                &conversation_id(&route)?,
                seq,
                now_ms(),
            )
            .await?;
            Ok(json(
                StatusCode::OK,
                &message_view(&tombstone, principal.role),
            ))
        }
        Operation::EraseEndUser => {
            let erasure =
                erase_end_user(backend, &principal, route.param("user_id"), now_ms()).await?;
            Ok(json(StatusCode::OK, &erasure))
        }
        Operation::CreateArticle => {
            let draft: ArticleDraft = parse_json(request)?;
            let created = create_article(store, &principal, draft, now_ms()).await?;
            Ok(json(StatusCode::CREATED, &article_view(&created)))
        }
        Operation::ListArticles => {
            let all = articles(store, &principal).await?;
            Ok(json(StatusCode::OK, &articles_view(&all)))
        }
        Operation::GetArticle => {
            let found = article(store, &principal, route.param("article_id")).await?;
            Ok(json(StatusCode::OK, &article_view(&found)))
        }
        Operation::ReplaceArticle => {
            let draft: ArticleDraft = parse_json(request)?;
            let id = route.param("article_id");
            match change_article(store, &principal, id, Some(draft), now_ms()).await? {
                Some(changed) => Ok(json(StatusCode::OK, &article_view(&changed))),
                None => Err(ApiError::not_found()),
            }
        }
        Operation::DeleteArticle => {
            change_article(store, &principal, route.param("article_id"), None, now_ms()).await?;
            Ok(edge::api::no_content())
        }
        Operation::SearchArticles => {
            let text: String = query_param(request, "q")?.unwrap_or_default();
            let locale = match query_param::<String>(request, "locale")? {
                None => None,
                Some(code) => Some(
                    Locale::ALL
                        .into_iter()
                        .find(|l| l.code() == code)
                        .ok_or_else(|| ApiError::invalid_request("locale must be en or fr"))?,
                ),
            };
            let limit = clamp_page(
                query_param(request, "limit")?,
                DEFAULT_SEARCH_RESULTS,
                MAX_SEARCH_RESULTS,
            );
            let published: Option<bool> = query_param(request, "published")?;
            let indexes = backend.knowledge_indexes.as_ref();
            let found = search(
                store,
                (indexes, backend),
                &principal,
                (&text, locale, published.unwrap_or(false)),
                limit,
            )
            .await?;
            Ok(json(StatusCode::OK, &article_matches_view(&found)))
        }
        Operation::CreateMacro => {
            let draft: MacroDraft = parse_json(request)?;
            let created = create_macro(store, &principal, draft, now_ms()).await?;
            Ok(json(StatusCode::CREATED, &macro_view(&created)))
        }
        Operation::ListMacros => {
            let usable = macros(store, &principal).await?;
            Ok(json(StatusCode::OK, &macros_view(&usable)))
        }
        Operation::ListMacroAudit => {
            let after: u64 = query_param(request, "cursor")?.unwrap_or(0);
            let limit = clamp_page(
                query_param(request, "limit")?,
                DEFAULT_AUDIT_PAGE,
                MAX_AUDIT_PAGE,
            );
            let (entries, next) = macro_audit(store, &principal, after, limit).await?;
            Ok(json(StatusCode::OK, &audit_page_view(&entries, next)))
        }
        Operation::GetMacro => {
            let found = usable_macro(store, &principal, route.param("macro_id")).await?;
            Ok(json(StatusCode::OK, &macro_view(&found)))
        }
        Operation::ReplaceMacro => {
            let draft: MacroDraft = parse_json(request)?;
            let id = route.param("macro_id");
            match change_macro(store, &principal, id, Some(draft), now_ms()).await? {
                Some(changed) => Ok(json(StatusCode::OK, &macro_view(&changed))),
                None => Err(ApiError::not_found()),
            }
        }
        Operation::DeleteMacro => {
            change_macro(store, &principal, route.param("macro_id"), None, now_ms()).await?;
            Ok(edge::api::no_content())
        }
        Operation::ApplyMacro => {
            let body: ApplyMacroRequest = parse_json(request)?;
            let target = (&conversation_id(&route)?, route.param("macro_id"));
            let applied = apply_macro(
                backend,
                &principal,
                target,
                body.client_message_id,
                body.preview,
                now_ms(),
            )
            .await?;
            Ok(match applied {
                Applied::Preview(text) => json(StatusCode::OK, &macro_preview_view(&text)),
                Applied::Posted(posted) => match *posted {
                    Posted::Created(m) => json(
                        StatusCode::CREATED,
                        &posted_message_view(&m, principal.role),
                    ),
                    Posted::Replayed(m) => {
                        json(StatusCode::OK, &posted_message_view(&m, principal.role))
                    }
                },
            })
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
