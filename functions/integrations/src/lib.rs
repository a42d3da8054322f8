//! `integrations`: the keys an account's bots and webhook consumers call with (spec
//! "Integrations"). Admins only.
//!
//! Routes:
//! - `POST /v1/integrations` `{name, scopes}` → 201 `{id, key, …}`: the key is shown this once
//! - `GET /v1/integrations` → `{integrations: [{id, name, scopes, created_at, created_by,
//!   last_used_at}]}` (never a key or its hash)
//! - `DELETE /v1/integrations/{integration_id}` → 204: the key stops working at once

use http::StatusCode;
use serde_json::json;

use shared::api::{
    authenticate, check_body_size, handle_logged, json, parse_json, ApiError, ApiRequest,
    ApiResponse,
};
use shared::backend::Backend;
use shared::integration_keys::{create, list, revoke};
use shared::integrations::{Integration, NewIntegration};
use shared::routes::{route_of, Operation, INTEGRATIONS};
use shared::{now_ms, rfc3339};

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    handle_logged(INTEGRATIONS, &request, dispatch(backend, &request)).await
}

/// What an admin sees of an integration: never its key or the key's hash.
fn integration_view(integration: &Integration) -> serde_json::Value {
    json!({
        "id": integration.id,
        "name": integration.name,
        "scopes": integration.scopes,
        "created_at": rfc3339(integration.created_at),
        "created_by": integration.created_by,
        "last_used_at": integration.last_used_at.map(rfc3339),
    })
}

async fn dispatch(backend: &Backend, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    check_body_size(request)?;
    let route = route_of(INTEGRATIONS, request)?;
    let principal = authenticate(backend, request, route.integration_scope()).await?;
    let store = backend.store.as_ref();
    match route.operation() {
        Operation::CreateIntegration => {
            let body: NewIntegration = parse_json(request)?;
            let created = create(store, &principal, body, now_ms()).await?;
            let mut view = integration_view(&created.integration);
            view["key"] = json!(created.key);
            Ok(json(StatusCode::CREATED, &view))
        }
        Operation::ListIntegrations => {
            let found = list(store, &principal).await?;
            let views: Vec<_> = found.iter().map(integration_view).collect();
            Ok(json(StatusCode::OK, &json!({ "integrations": views })))
        }
        Operation::DeleteIntegration => {
            revoke(store, &principal, route.param("integration_id")).await?;
            Ok(shared::api::no_content())
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
