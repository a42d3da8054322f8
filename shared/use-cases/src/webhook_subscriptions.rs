//! Webhook subscriptions managed by admins or a `webhooks` integration key (spec
//! "Integrations"): created with a secret shown once, listed, deleted, and their delivery log.

use crate::auth::Principal;
use crate::integration_keys::IntegrationError;
use crate::ports::WebhookStore;
use domain::integrations::IntegrationScope;
use domain::model::Role;
use domain::webhooks::{
    create_subscription, DeliveryAttempt, NewSubscription, Subscription, WebhookSecret,
    MAX_SUBSCRIPTIONS_PER_ACCOUNT,
};

/// Most attempts one page of the delivery log shows.
pub const MAX_DELIVERY_PAGE: usize = 100;

fn may_manage(principal: &Principal) -> Result<(), IntegrationError> {
    let key_with_scope = principal.role == Role::Integration
        && principal.scopes.contains(&IntegrationScope::Webhooks);
    if principal.role == Role::Admin || key_with_scope {
        Ok(())
    } else {
        Err(IntegrationError::NotAdmin)
    }
}

/// `POST /v1/webhooks`. `allow_loopback`: the local gateway's flag, never on AWS.
pub async fn subscribe(
    store: &dyn WebhookStore,
    principal: &Principal,
    request: NewSubscription,
    allow_loopback: bool,
    now: i64,
) -> Result<(Subscription, WebhookSecret), IntegrationError> {
    may_manage(principal)?;
    let (subscription, secret) = create_subscription(
        &principal.account_id,
        &principal.user_id,
        request,
        allow_loopback,
        now,
    )?;
    if store.list_subscriptions(&principal.account_id).await?.len() >= MAX_SUBSCRIPTIONS_PER_ACCOUNT
    {
        return Err(IntegrationError::TooManyWebhooks);
    }
    store.create_subscription(&subscription, &secret).await?;
    tracing::info!(account_id = %principal.account_id, subscription_id = %subscription.id, events = ?subscription.events, by = %principal.user_id, "webhook subscribed");
    Ok((subscription, secret))
}

/// `GET /v1/webhooks`.
pub async fn list(
    store: &dyn WebhookStore,
    principal: &Principal,
) -> Result<Vec<Subscription>, IntegrationError> {
    may_manage(principal)?;
    Ok(store.list_subscriptions(&principal.account_id).await?)
}

fn valid_id(id: &str) -> bool {
    domain::ids::is_valid_id("wh", id)
}

/// `DELETE /v1/webhooks/{id}`: nothing more is delivered to it.
pub async fn unsubscribe(
    store: &dyn WebhookStore,
    principal: &Principal,
    subscription_id: &str,
) -> Result<(), IntegrationError> {
    may_manage(principal)?;
    if !valid_id(subscription_id)
        || !store
            .delete_subscription(&principal.account_id, subscription_id)
            .await?
    {
        return Err(IntegrationError::NotFound);
    }
    tracing::info!(account_id = %principal.account_id, subscription_id = %subscription_id, by = %principal.user_id, "webhook unsubscribed");
    Ok(())
}

/// `GET /v1/webhooks/{id}/deliveries`: the latest attempts, newest first.
pub async fn deliveries(
    store: &dyn WebhookStore,
    principal: &Principal,
    subscription_id: &str,
    limit: usize,
) -> Result<Vec<DeliveryAttempt>, IntegrationError> {
    may_manage(principal)?;
    if !valid_id(subscription_id)
        || store
            .get_subscription(&principal.account_id, subscription_id)
            .await?
            .is_none()
    {
        return Err(IntegrationError::NotFound);
    }
    Ok(store
        .list_attempts(&principal.account_id, subscription_id, limit)
        .await?)
}
