//! `integrations`: the keys an account's bots and webhook consumers call with (spec
//! "Integrations"). Admins only.
//!
//! Routes:
//! - `POST /v1/integrations` `{name, scopes}` → 201 `{id, key, …}`: the key is shown this once
//! - `GET /v1/integrations` → `{integrations: [{id, name, scopes, created_at, created_by,
//!   last_used_at}]}` (never a key or its hash)
//! - `DELETE /v1/integrations/{integration_id}` → 204: the key stops working at once
//!
//! and the webhook subscriptions (admins, or a key with the `webhooks` scope):
//! - `POST /v1/webhooks` `{url, events}` → 201 `{id, secret, …}`: the secret is shown this once
//! - `GET /v1/webhooks`, `DELETE /v1/webhooks/{webhook_id}` → 204
//! - `GET /v1/webhooks/{webhook_id}/deliveries?limit=` → the delivery log, newest first
//!
//! and the account's signing keys (admins):
//! - `POST /v1/signing-keys` → 201 `{kid, secret, created_at}`: the secret is shown this once
//! - `GET /v1/signing-keys` → `{keys: [{kid, created_at}]}`; `DELETE /v1/signing-keys/{kid}` → 204

use http::StatusCode;

use domain::integrations::NewIntegration;
use domain::now_ms;
use domain::rules::clamp_page;
use domain::views::{
    created_integration_view, created_signing_key_view, created_subscription_view, deliveries_view,
    integrations_view, signing_keys_view, subscriptions_view,
};
use domain::webhooks::NewSubscription;
use edge::api::{json, parse_json, query_param, serve, ApiError, ApiRequest, ApiResponse};
use edge::routes::{Matched, Operation, INTEGRATIONS};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::integration_keys::{create, list, revoke};
use use_cases::signing_keys;
use use_cases::webhook_subscriptions::{
    self, deliveries, subscribe, unsubscribe, MAX_DELIVERY_PAGE,
};

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(INTEGRATIONS, backend, &request, dispatch).await
}

/// A body that takes no field (`{}` or nothing).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    let store = backend.store.as_ref();
    match route.operation() {
        Operation::CreateIntegration => {
            let body: NewIntegration = parse_json(request)?;
            let created = create(store, &principal, body, now_ms()).await?;
            Ok(json(
                StatusCode::CREATED,
                &created_integration_view(&created.integration, &created.key),
            ))
        }
        Operation::ListIntegrations => {
            let found = list(store, &principal).await?;
            Ok(json(StatusCode::OK, &integrations_view(&found)))
        }
        Operation::DeleteIntegration => {
            revoke(store, &principal, route.param("integration_id")).await?;
            Ok(edge::api::no_content())
        }
        Operation::CreateWebhook => {
            let body: NewSubscription = parse_json(request)?;
            let allow_loopback = backend.limits.allow_loopback_webhooks;
            let (created, secret) =
                subscribe(store, &principal, body, allow_loopback, now_ms()).await?;
            Ok(json(
                StatusCode::CREATED,
                &created_subscription_view(&created, &secret.0),
            ))
        }
        Operation::ListWebhooks => {
            let found = webhook_subscriptions::list(store, &principal).await?;
            Ok(json(StatusCode::OK, &subscriptions_view(&found)))
        }
        Operation::DeleteWebhook => {
            unsubscribe(store, &principal, route.param("webhook_id")).await?;
            Ok(edge::api::no_content())
        }
        Operation::ListWebhookDeliveries => {
            let limit = clamp_page(query_param(request, "limit")?, 50, MAX_DELIVERY_PAGE);
            let log = deliveries(store, &principal, route.param("webhook_id"), limit).await?;
            Ok(json(StatusCode::OK, &deliveries_view(&log)))
        }
        Operation::CreateSigningKey => {
            let NoFields {} = parse_json(request)?;
            let key = signing_keys::create(backend, &principal, now_ms()).await?;
            Ok(json(StatusCode::CREATED, &created_signing_key_view(&key)))
        }
        Operation::ListSigningKeys => {
            let keys = signing_keys::list(backend, &principal).await?;
            let listed = keys.iter().map(|k| (k.kid.as_str(), k.created_at));
            Ok(json(StatusCode::OK, &signing_keys_view(listed)))
        }
        Operation::RevokeSigningKey => {
            signing_keys::revoke(backend, &principal, route.param("kid")).await?;
            Ok(edge::api::no_content())
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
