//! Integration keys (spec "Integrations", R28): admins create, list and revoke them; a key
//! presented as a bearer token is checked against its stored hash on every use, so a revoked
//! key stops working at once (no cache to outlive it).

use crate::auth::{AuthError, Principal, ProfileClaims};
use crate::error::{DomainError, StoreError};
use crate::ports::IntegrationStore;
use domain::integrations::{
    create_integration, parse_key, use_is_news, CreatedIntegration, Integration, NewIntegration,
    MAX_INTEGRATIONS_PER_ACCOUNT,
};
use domain::model::Role;

/// Why an integration could not be managed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("only admins (or, for webhooks, a webhooks key) manage integrations")]
    NotAdmin,
    #[error("no such integration")]
    NotFound,
    #[error("an account holds at most {MAX_INTEGRATIONS_PER_ACCOUNT} integrations")]
    TooMany,
    #[error(
        "an account holds at most {} webhook subscriptions",
        domain::webhooks::MAX_SUBSCRIPTIONS_PER_ACCOUNT
    )]
    TooManyWebhooks,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn require_admin(principal: &Principal) -> Result<(), IntegrationError> {
    if principal.role == Role::Admin {
        Ok(())
    } else {
        Err(IntegrationError::NotAdmin)
    }
}

/// `POST /v1/integrations`: the integration and its key, shown this once.
pub async fn create(
    store: &dyn IntegrationStore,
    principal: &Principal,
    request: NewIntegration,
    now: i64,
) -> Result<CreatedIntegration, IntegrationError> {
    require_admin(principal)?;
    let created = create_integration(&principal.account_id, &principal.user_id, request, now)?;
    if store.list_integrations(&principal.account_id).await?.len() >= MAX_INTEGRATIONS_PER_ACCOUNT {
        return Err(IntegrationError::TooMany);
    }
    store.create_integration(&created.integration).await?;
    tracing::info!(
        account_id = %principal.account_id,
        integration_id = %created.integration.id,
        scopes = ?created.integration.scopes,
        by = %principal.user_id,
        "integration created"
    );
    Ok(created)
}

/// `GET /v1/integrations`.
pub async fn list(
    store: &dyn IntegrationStore,
    principal: &Principal,
) -> Result<Vec<Integration>, IntegrationError> {
    require_admin(principal)?;
    Ok(store.list_integrations(&principal.account_id).await?)
}

/// `DELETE /v1/integrations/{id}`: the key stops working with the next request.
pub async fn revoke(
    store: &dyn IntegrationStore,
    principal: &Principal,
    integration_id: &str,
) -> Result<(), IntegrationError> {
    require_admin(principal)?;
    if !domain::ids::is_valid_id("int", integration_id)
        || !store
            .delete_integration(&principal.account_id, integration_id)
            .await?
    {
        return Err(IntegrationError::NotFound);
    }
    tracing::info!(
        account_id = %principal.account_id,
        integration_id = %integration_id,
        by = %principal.user_id,
        "integration revoked"
    );
    Ok(())
}

/// Checks a presented integration key: one read of the integration it names. The caller it
/// answers is the integration (role `integration`, id = the integration's id, its scopes).
/// An id the table does not hold is remembered as unknown for a while (`unknown`, R33): junk
/// keys under one id cost one read, and a valid key (its own id) is never refused for them.
/// A use is written down at most once a minute; failing to write it down fails nothing.
pub async fn verify_key(
    store: &dyn IntegrationStore,
    unknown: &crate::key_cache::UnknownKeys,
    token: &str,
    now: i64,
) -> Result<Principal, AuthError> {
    let presented = parse_key(token).ok_or(AuthError::Malformed)?;
    if unknown.remembers(presented.account_id, presented.integration_id) {
        return Err(AuthError::UnknownKey);
    }
    let stored = store
        .get_integration(presented.account_id, presented.integration_id)
        .await?;
    if stored.is_none() {
        unknown.remember(presented.account_id, presented.integration_id);
    }
    let stored = stored
        .filter(|stored| presented.opens(stored))
        .ok_or(AuthError::UnknownKey)?;
    if use_is_news(&stored, now) {
        if let Err(error) = store
            .record_integration_use(&stored.account_id, &stored.id, now)
            .await
        {
            tracing::warn!(integration_id = %stored.id, %error, "integration use not recorded");
        }
    }
    Ok(Principal {
        account_id: stored.account_id,
        user_id: stored.id,
        role: Role::Integration,
        profile_claims: ProfileClaims::default(),
        scopes: stored.scopes,
    })
}
