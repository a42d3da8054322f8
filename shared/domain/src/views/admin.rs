//! What an admin is shown of the account's configuration: the settings document and its
//! audit trail, readiness (R11), integrations, webhook subscriptions and their deliveries,
//! and token signing keys. Secrets appear once, in the answer that created them.

use serde_json::json;

use crate::integrations::Integration;
use crate::model::SigningKey;
use crate::rfc3339;
use crate::settings::{AuditEntry, ReadinessItem, Settings};
use crate::webhooks::{DeliveryAttempt, Subscription};

/// The settings document with the version a write must name (`If-Match`).
pub fn settings_document_view(version: u64, settings: &Settings) -> serde_json::Value {
    json!({ "version": version, "settings": settings })
}

/// A page of the settings audit trail, oldest first, and where the next page starts.
pub fn audit_page_view(entries: &[AuditEntry], next_cursor: Option<String>) -> serde_json::Value {
    let views: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "version": e.version,
                "actor": e.actor,
                "at": e.at,
                "at_iso": rfc3339(e.at),
                "changes": e.changes,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            })
        })
        .collect();
    json!({ "entries": views, "next_cursor": next_cursor })
}

/// R11's checklist and its verdict.
pub fn readiness_view(ready: bool, items: &[ReadinessItem]) -> serde_json::Value {
    json!({ "ready": ready, "items": items })
}

/// An integration as listed: never its key or the key's hash.
pub fn integration_view(integration: &Integration) -> serde_json::Value {
    json!({
        "id": integration.id,
        "name": integration.name,
        "scopes": integration.scopes,
        "created_at": rfc3339(integration.created_at),
        "created_by": integration.created_by,
        "last_used_at": integration.last_used_at.map(rfc3339),
    })
}

/// A new integration with its key, shown this once.
pub fn created_integration_view(integration: &Integration, key: &str) -> serde_json::Value {
    let mut view = integration_view(integration);
    view["key"] = json!(key);
    view
}

pub fn integrations_view(integrations: &[Integration]) -> serde_json::Value {
    let views: Vec<_> = integrations.iter().map(integration_view).collect();
    json!({ "integrations": views })
}

/// A webhook subscription as listed: never its secret.
pub fn subscription_view(subscription: &Subscription) -> serde_json::Value {
    json!({
        "id": subscription.id,
        "url": subscription.url,
        "events": subscription.events,
        "created_at": rfc3339(subscription.created_at),
        "created_by": subscription.created_by,
        "disabled_at": subscription.disabled_at.map(rfc3339),
    })
}

/// A new subscription with its signing secret, shown this once.
pub fn created_subscription_view(subscription: &Subscription, secret: &str) -> serde_json::Value {
    let mut view = subscription_view(subscription);
    view["secret"] = json!(secret);
    view
}

pub fn subscriptions_view(subscriptions: &[Subscription]) -> serde_json::Value {
    let views: Vec<_> = subscriptions.iter().map(subscription_view).collect();
    json!({ "webhooks": views })
}

/// A subscription's delivery log, newest first.
pub fn deliveries_view(attempts: &[DeliveryAttempt]) -> serde_json::Value {
    let views: Vec<_> = attempts
        .iter()
        .map(|a| {
            json!({
                "event_id": a.event_id,
                "type": a.event_type,
                "attempt": a.attempt,
                "status_code": a.status_code,
                "error": a.error,
                "outcome": a.outcome,
                "at": rfc3339(a.at),
            })
        })
        .collect();
    json!({ "deliveries": views })
}

/// A new signing key with its secret, shown this once.
pub fn created_signing_key_view(key: &SigningKey) -> serde_json::Value {
    json!({"kid": key.kid, "secret": key.secret, "created_at": rfc3339(key.created_at)})
}

/// The account's signing keys as listed, `(kid, created_at)`: never a secret.
pub fn signing_keys_view<'a>(keys: impl IntoIterator<Item = (&'a str, i64)>) -> serde_json::Value {
    let views: Vec<_> = keys
        .into_iter()
        .map(|(kid, created_at)| json!({"kid": kid, "created_at": rfc3339(created_at)}))
        .collect();
    json!({ "keys": views })
}
