//! An account's signing keys (spec "Operate on AWS"): the HS256 secrets its backend signs its
//! users' tokens with. Admins create them (the secret is shown once), list them (never the
//! secret) and revoke them; at most [`MAX_SIGNING_KEYS`] per account; every change is an
//! entry of the settings audit log. `create_account` is how an account comes to exist on a
//! deployed stack (`relay-admin create-account`) and in the local gateway's demo.

use serde_json::json;
use thiserror::Error;

use crate::auth::{mint_token, Principal};
use crate::backend::{Backend, ALL_CAPABILITIES};
use crate::error::StoreError;
use domain::model::{Account, Role, SigningKey};
use domain::settings::Change;
use domain::widget::{new_widget_key, VISITOR_SIGNING_KID};

/// Keys one account may hold (the widget's own visitor key not counted).
pub const MAX_SIGNING_KEYS: usize = 10;
/// How long the admin token `create_account` prints is valid.
pub const FIRST_ADMIN_TOKEN_SECS: i64 = 3600;

#[derive(Debug, Error)]
pub enum SigningKeyError {
    #[error("only admins manage signing keys")]
    Forbidden,
    #[error("no such signing key")]
    NotFound,
    /// 422 `too_many_keys`.
    #[error("an account holds at most {MAX_SIGNING_KEYS} signing keys; revoke one first")]
    TooMany,
    /// `create_account` of an id that is not a safe identifier (`relay-admin`: exit 2).
    #[error("an account id takes 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidAccountId,
    /// `create_account` of an id that exists.
    #[error("account {0} exists already")]
    AccountExists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyView {
    pub kid: String,
    pub created_at: i64,
}

fn require_admin(principal: &Principal) -> Result<(), SigningKeyError> {
    if principal.role == Role::Admin {
        Ok(())
    } else {
        Err(SigningKeyError::Forbidden)
    }
}

/// A new key: a random kid and 256 random bits of secret.
pub fn new_signing_key(account_id: &str, now: i64) -> SigningKey {
    let secret = format!(
        "{}{}",
        domain::ids::new_id("sk").trim_start_matches("sk_"),
        domain::ids::new_id("sk").trim_start_matches("sk_")
    );
    SigningKey {
        account_id: account_id.to_string(),
        kid: domain::ids::new_id("key"),
        secret,
        created_at: now,
    }
}

async fn audit(
    backend: &Backend,
    account_id: &str,
    by: &str,
    field: &str,
    change: Change,
) -> Result<u64, StoreError> {
    crate::settings_change::record_in_audit(
        backend,
        account_id,
        by,
        [(field.to_string(), change)].into(),
    )
    .await
}

/// The account's keys an admin manages (the visitor key is the widget's, not theirs).
async fn company_keys(backend: &Backend, account_id: &str) -> Result<Vec<SigningKey>, StoreError> {
    let mut keys = backend.store.list_signing_keys(account_id).await?;
    keys.retain(|k| k.kid != VISITOR_SIGNING_KID);
    Ok(keys)
}

/// `POST /v1/signing-keys`: a new key, its secret shown this once.
pub async fn create(
    backend: &Backend,
    principal: &Principal,
    now: i64,
) -> Result<SigningKey, SigningKeyError> {
    require_admin(principal)?;
    let account_id = &principal.account_id;
    if company_keys(backend, account_id).await?.len() >= MAX_SIGNING_KEYS {
        return Err(SigningKeyError::TooMany);
    }
    let key = new_signing_key(account_id, now);
    backend.store.put_signing_key(&key).await?;
    let change = Change {
        before: serde_json::Value::Null,
        after: json!({"kid": key.kid}),
    };
    audit(
        backend,
        account_id,
        &principal.user_id,
        "signing_keys.created",
        change,
    )
    .await?;
    tracing::info!(%account_id, kid = %key.kid, by = %principal.user_id, "signing key created");
    Ok(key)
}

/// `GET /v1/signing-keys`.
pub async fn list(
    backend: &Backend,
    principal: &Principal,
) -> Result<Vec<KeyView>, SigningKeyError> {
    require_admin(principal)?;
    Ok(company_keys(backend, &principal.account_id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            kid: k.kid,
            created_at: k.created_at,
        })
        .collect())
}

/// `DELETE /v1/signing-keys/{kid}`: tokens under the key are refused from now on (by this
/// function at once, by other warm functions within their key cache's minute).
pub async fn revoke(
    backend: &Backend,
    principal: &Principal,
    kid: &str,
) -> Result<(), SigningKeyError> {
    require_admin(principal)?;
    let account_id = &principal.account_id;
    if kid == VISITOR_SIGNING_KID || !domain::ids::is_safe_identifier(kid) {
        return Err(SigningKeyError::NotFound);
    }
    if !backend.store.delete_signing_key(account_id, kid).await? {
        return Err(SigningKeyError::NotFound);
    }
    backend.signing_keys.forget(account_id, kid);
    let change = Change {
        before: json!({"kid": kid}),
        after: serde_json::Value::Null,
    };
    audit(
        backend,
        account_id,
        &principal.user_id,
        "signing_keys.revoked",
        change,
    )
    .await?;
    tracing::info!(%account_id, %kid, by = %principal.user_id, "signing key revoked");
    Ok(())
}

/// What `create_account` made: the account, its first key (secret included, shown once) and
/// an admin token under it valid for an hour.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    pub key: SigningKey,
    pub admin_token: String,
}

/// Creates account `account_id` with every capability, its default settings (computed, never
/// written), a random widget key and a first signing key. Refused if the account exists.
pub async fn create_account(
    backend: &Backend,
    account_id: &str,
    name: &str,
    admin_id: &str,
    now: i64,
) -> Result<NewAccount, SigningKeyError> {
    if !domain::ids::is_safe_identifier(account_id) {
        return Err(SigningKeyError::InvalidAccountId);
    }
    if backend.store.get_account(account_id).await?.is_some() {
        return Err(SigningKeyError::AccountExists(account_id.to_string()));
    }
    let account = Account {
        id: account_id.to_string(),
        name: name.to_string(),
        capabilities: ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
        created_at: now,
        messaging_enabled_at: Some(now),
        widget_key: Some(new_widget_key(account_id)),
    };
    backend.store.put_account(&account).await?;
    let key = new_signing_key(account_id, now);
    backend.store.put_signing_key(&key).await?;
    let admin_token = mint_token(
        account_id,
        &key.kid,
        &key.secret,
        admin_id,
        Role::Admin,
        now / 1000,
        FIRST_ADMIN_TOKEN_SECS,
    );
    tracing::info!(%account_id, kid = %key.kid, "account created");
    Ok(NewAccount {
        account,
        key,
        admin_token,
    })
}
