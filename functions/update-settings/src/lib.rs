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
use domain::rules::clamp_page;
use domain::settings::{EffectJob, Settings, WorkspaceFacts};
use domain::settings::{DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
use domain::views::{audit_page_view, readiness_view, settings_document_view};
use edge::api::{
    json, parse_json, query_param, require_role, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, UPDATE_SETTINGS};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::ports::ReceivedMessage;
use use_cases::settings_change::change_settings;
use use_cases::settings_effects::{carry_out, EffectError};
use use_cases::settings_read;

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
    let (store, account_id) = (backend.store.as_ref(), &principal.account_id);
    match route.operation() {
        Operation::GetSettings => {
            let (version, settings) = settings_read::current(backend, account_id).await?;
            Ok(settings_response(version, &settings))
        }
        Operation::PatchSettings => patch_settings(backend, &principal, request).await,
        Operation::ListSettingsAudit => {
            let after: u64 = query_param(request, "cursor")?.unwrap_or(0);
            let limit = clamp_page(
                query_param(request, "limit")?,
                DEFAULT_AUDIT_PAGE,
                MAX_AUDIT_PAGE,
            );
            let (entries, next) =
                settings_read::audit_page(store, account_id, after, limit).await?;
            Ok(json(StatusCode::OK, &audit_page_view(&entries, next)))
        }
        Operation::MessagingReadiness => {
            let (ready, items) = settings_read::readiness(backend, account_id).await?;
            Ok(json(StatusCode::OK, &readiness_view(ready, &items)))
        }
        Operation::GetWorkspace => {
            let facts = settings_read::workspace(store, account_id).await?;
            Ok(json(StatusCode::OK, &facts))
        }
        Operation::PutWorkspace => {
            let facts: WorkspaceFacts = parse_json(request)?;
            settings_read::put_workspace(store, account_id, &facts).await?;
            Ok(json(StatusCode::OK, &facts))
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

/// The settings document with its version as the `ETag` a patch names in `If-Match`.
fn settings_response(version: u64, settings: &Settings) -> ApiResponse {
    let mut response = json(StatusCode::OK, &settings_document_view(version, settings));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(http::header::ETAG, etag);
    }
    response
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
