//! `update-settings`: the admin settings API (R1–R11) and the worker that carries out the
//! side effects settings changes leave behind (R3).
//!
//! Routes (role `admin`):
//! - `GET /v1/settings`, `PATCH /v1/settings` (JSON Merge Patch, `If-Match: <version>`)
//! - `GET /v1/settings/audit?cursor=N&limit=L`
//! - `GET /v1/settings/messaging-readiness`
//! - `GET|PUT /v1/settings/workspace`: groups, chat departments and help-center facts (a minimal
//!   stand-in for the admin areas that own them, so R1 and R11 have real data)

use http::{HeaderValue, StatusCode};
use serde_json::Value;

use domain::model::Role;
use domain::now_ms;
use domain::sessions::end_live_chat;
use domain::settings::{readiness, EffectJob, Settings, SettingsEffect, WorkspaceFacts};
use domain::views::{audit_page_view, readiness_view, settings_document_view};
use edge::api::{
    json, parse_json, query_param, require_role, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, UPDATE_SETTINGS};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::conversation_expiry::stamp_conversations;
use use_cases::ports::ReceivedMessage;
use use_cases::sessions::commit_with_retry;
use use_cases::settings_change::{change_settings, send_effect};
use use_cases::StoreError;

const DEFAULT_AUDIT_PAGE: usize = 50;
const MAX_AUDIT_PAGE: usize = 100;
/// Live chats ended per page, and pages per queue message before handing over to a new message.
const LIVE_CHAT_PAGE: usize = 25;
const MAX_PAGES_PER_MESSAGE: usize = 40;
/// A pending side effect older than this is sent to the queue again (its message was lost).
const EFFECT_REDRIVE_AFTER_MS: i64 = 60_000;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(UPDATE_SETTINGS, backend, &request, dispatch).await
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    require_role(&principal, &[Role::Admin])?;
    match route.operation() {
        Operation::GetSettings => get_settings(backend, &principal).await,
        Operation::PatchSettings => patch_settings(backend, &principal, request).await,
        Operation::ListSettingsAudit => list_audit(backend, &principal, request).await,
        Operation::MessagingReadiness => messaging_readiness(backend, &principal).await,
        Operation::GetWorkspace => {
            let facts = backend
                .store
                .get_workspace_facts(&principal.account_id)
                .await?;
            Ok(json(StatusCode::OK, &facts))
        }
        Operation::PutWorkspace => put_workspace(backend, &principal, request).await,
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

fn settings_response(version: u64, settings: &Settings) -> ApiResponse {
    let mut response = json(StatusCode::OK, &settings_document_view(version, settings));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(http::header::ETAG, etag);
    }
    response
}

async fn get_settings(backend: &Backend, principal: &Principal) -> Result<ApiResponse, ApiError> {
    let account_id = &principal.account_id;
    let (stored, settings) = backend.stored_and_effective_settings(account_id).await?;
    redrive_stale_effects(backend, account_id).await;
    Ok(settings_response(
        stored.map_or(0, |s| s.version),
        &settings,
    ))
}

/// `If-Match: <version>` (quotes and a weak `W/` prefix tolerated). 428 when absent.
fn if_match_version(request: &ApiRequest) -> Result<u64, ApiError> {
    let value = request
        .headers()
        .get(http::header::IF_MATCH)
        .ok_or_else(|| {
            ApiError::precondition_required(
                "PATCH /v1/settings needs If-Match: <version> (from GET /v1/settings)",
            )
        })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::invalid_request("If-Match must be a settings version number"))
}

async fn patch_settings(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let expected = if_match_version(request)?;
    let patch: Value = parse_json(request)?;
    if !patch.is_object() {
        return Err(ApiError::invalid_request(
            "a settings patch is a JSON object (RFC 7396 merge patch)",
        ));
    }
    let changed = change_settings(
        backend,
        &principal.account_id,
        &principal.user_id,
        expected,
        &patch,
    )
    .await?;
    Ok(settings_response(changed.version, &changed.settings))
}

/// Sends again the account's pending effects whose queue message seems lost. Best effort: a
/// failure here leaves them pending for the next try.
async fn redrive_stale_effects(backend: &Backend, account_id: &str) {
    let pending = match backend.store.pending_effects(account_id).await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(%error, "cannot read pending settings effects");
            return;
        }
    };
    let now = now_ms();
    for job in pending
        .iter()
        .filter(|j| now - j.requested_at > EFFECT_REDRIVE_AFTER_MS)
    {
        if let Err(error) = send_effect(backend, job).await {
            tracing::warn!(%error, "cannot re-drive settings effect");
        }
    }
}

async fn list_audit(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let after: u64 = query_param(request, "cursor")?.unwrap_or(0);
    let limit = domain::rules::clamp_page(
        query_param(request, "limit")?,
        DEFAULT_AUDIT_PAGE,
        MAX_AUDIT_PAGE,
    );
    let entries = backend
        .store
        .list_audit(&principal.account_id, after, limit)
        .await?;
    let next_cursor = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.version.to_string()))
        .flatten();
    Ok(json(
        StatusCode::OK,
        &audit_page_view(&entries, next_cursor),
    ))
}

async fn messaging_readiness(
    backend: &Backend,
    principal: &Principal,
) -> Result<ApiResponse, ApiError> {
    let account_id = &principal.account_id;
    let settings = backend.settings(account_id).await?;
    let facts = backend.store.get_workspace_facts(account_id).await?;
    // Routing is configured when it has someone to route to (readiness's own definition).
    let routing_configured = backend
        .store
        .list_agents(account_id)
        .await?
        .iter()
        .any(|agent| agent.cap_messaging > 0);
    let (ready, items) = readiness(&settings, &facts, routing_configured);
    Ok(json(StatusCode::OK, &readiness_view(ready, &items)))
}

const MAX_GROUPS: usize = 500;

async fn put_workspace(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let facts: WorkspaceFacts = parse_json(request)?;
    if !domain::workspace::groups_are_valid(&facts.groups, MAX_GROUPS) {
        return Err(domain::error::DomainError::InvalidWorkspace { max: MAX_GROUPS }.into());
    }
    backend
        .store
        .put_workspace_facts(&principal.account_id, &facts)
        .await?;
    Ok(json(StatusCode::OK, &facts))
}

// ---------------------------------------------------------------------------------------------
// Side effects worker.

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

/// Processes a batch from the settings-effects queue; returns the ids of the messages that
/// failed (to be retried, and dead-lettered after the queue's receive limit).
pub async fn handle_effects(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    run_batch("settings-effects", batch, |job: EffectJob| async move {
        match carry_out(backend, job).await {
            // Handed on to a fresh message: this one is done.
            Ok(()) | Err(EffectError::Continued) => Ok(()),
            Err(error) => Err(error),
        }
    })
    .await
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
                    Ok(end_live_chat(current, holder, now_ms()))
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
