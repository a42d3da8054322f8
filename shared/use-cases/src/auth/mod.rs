//! Bearer-token authentication: HS256 JWTs whose `kid` names a signing key of the token's
//! account (spec "Auth"). Implemented directly on HMAC-SHA256 so every rejection path is ours:
//! only `HS256` is accepted (never `none`), `exp` is required, the key must belong to `acct`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::error::StoreError;
use crate::key_cache::Cached;
use crate::ports::AccountStore;
use domain::model::Role;

type HmacSha256 = Hmac<Sha256>;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub user_id: String,
    pub role: Role,
    /// The end user's `name` and `email` claims, as the token makes them (validated where a
    /// use case keeps them: `workspace::ProfileClaims::merged_into`).
    pub profile_claims: ProfileClaims,
    /// What an integration key may do; empty for tokens.
    pub scopes: Vec<domain::integrations::IntegrationScope>,
}

impl Principal {
    /// The caller as the author of a change (the ticket history credits it).
    pub fn actor(&self) -> domain::model::Actor {
        domain::model::Actor {
            role: self.role,
            id: self.user_id.clone(),
        }
    }
}

/// The conversation `cid` as `principal` may see it: end users only their own, everyone else
/// (staff, integrations) any of their account; `None` for anything else, indistinguishable
/// from a missing id. Only keys of the caller's own account are ever read; the id was parsed
/// at the edge, so a path that cannot name a conversation never costs a read.
pub async fn visible_conversation(
    store: &(impl crate::ports::ConversationStore + ?Sized),
    principal: &Principal,
    cid: &domain::ids::ConversationId,
) -> Result<Option<domain::model::Conversation>, StoreError> {
    let conversation = store
        .get_conversation(&principal.account_id, cid.as_str())
        .await?;
    Ok(conversation.filter(|c| principal.role != Role::EndUser || c.owner_id == principal.user_id))
}

/// Why a token was refused. All of these are 401 to the client; the variant is for logs.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token valid for longer than allowed")]
    Lifetime,
    #[error("token not valid yet")]
    NotYetValid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    acct: String,
    sub: String,
    role: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locale: Option<serde_json::Value>,
}

/// The longest a token may still be valid when presented: a week. A leaked token stops working
/// within that, whatever its issuer wrote; the visitor tokens Relay signs live a day.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// How far ahead of ours an issuer's clock may run (`nbf`, `iat`).
pub const CLOCK_SKEW_SECS: i64 = 60;

pub use domain::ids::is_safe_identifier;
pub use domain::workspace::ProfileClaims;

fn decode_segment<T: for<'de> Deserialize<'de>>(segment: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

/// Extracts the token from an `Authorization: Bearer …` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

pub use crate::key_cache::{
    SigningKeys, MAX_MISSED_READS, MISS_WINDOW, SIGNING_KEY_CACHE_TTL, UNKNOWN_KEY_TTL,
};

/// Reads `kid` of `account_id`, remembers what was found, and checks the signature with it.
async fn read_and_check(
    accounts: &dyn AccountStore,
    keys: &SigningKeys,
    account_id: &str,
    kid: &str,
    signed: &[&[u8]],
    signature: &[u8],
) -> Result<bool, AuthError> {
    let key = accounts.get_signing_key(account_id, kid).await?;
    keys.remember(account_id, kid, key.as_ref());
    let key = key.ok_or(AuthError::UnknownKey)?;
    Ok(signature_matches(&key.secret, signed, signature))
}

fn signature_matches(secret: &str, signed: &[&[u8]], signature: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    for part in signed {
        mac.update(part);
    }
    // Constant-time comparison.
    mac.verify_slice(signature).is_ok()
}

/// Verifies `token` at time `now_secs` against the keys in `accounts` (through `keys`).
pub async fn verify_token(
    accounts: &dyn AccountStore,
    keys: &SigningKeys,
    token: &str,
    now_secs: i64,
) -> Result<Principal, AuthError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let header: Header = decode_segment(header_b64)?;
    if header.alg != "HS256" {
        return Err(AuthError::Algorithm);
    }
    let kid = header.kid.ok_or(AuthError::UnknownKey)?;
    let claims: Claims = decode_segment(claims_b64)?;
    if !is_safe_identifier(&claims.acct)
        || !is_safe_identifier(&claims.sub)
        || !is_safe_identifier(&kid)
    {
        return Err(AuthError::Malformed);
    }
    let role = Role::parse(&claims.role).ok_or(AuthError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| AuthError::Malformed)?;
    // The key is looked up by the token's own account: a key of another account never matches.
    let signed: [&[u8]; 3] = [header_b64.as_bytes(), b".", claims_b64.as_bytes()];
    let verified = match keys.lookup(&claims.acct, &kid) {
        Cached::Fresh(key) if signature_matches(&key.secret, &signed, &signature) => true,
        Cached::Unknown => return Err(AuthError::UnknownKey),
        // The secret may have been rotated: ask the table again, within this key's own budget.
        Cached::Fresh(_) => {
            if !keys.may_reread(&claims.acct, &kid) {
                return Err(AuthError::Signature);
            }
            read_and_check(accounts, keys, &claims.acct, &kid, &signed, &signature).await?
        }
        // Never read, or read too long ago: always read, whatever junk came before.
        Cached::Unsure => {
            read_and_check(accounts, keys, &claims.acct, &kid, &signed, &signature).await?
        }
    };
    if !verified {
        return Err(AuthError::Signature);
    }
    if claims.exp <= now_secs {
        return Err(AuthError::Expired);
    }
    if claims.exp > now_secs + MAX_TOKEN_LIFETIME_SECS {
        return Err(AuthError::Lifetime);
    }
    let too_early = |at: Option<i64>| at.is_some_and(|at| at > now_secs + CLOCK_SKEW_SECS);
    if too_early(claims.nbf) || too_early(claims.iat) {
        return Err(AuthError::NotYetValid);
    }
    // The widget's own key signs visitors and nothing else (R28): whatever else a token under
    // it claims, it is refused.
    if kid == domain::widget::VISITOR_SIGNING_KID
        && (role != Role::EndUser || !domain::widget::is_visitor_id(&claims.sub))
    {
        return Err(AuthError::Signature);
    }
    Ok(Principal {
        account_id: claims.acct,
        user_id: claims.sub,
        role,
        profile_claims: ProfileClaims {
            name: claims.name,
            email: claims.email,
            locale: claims.locale,
        },
        scopes: Vec::new(),
    })
}

/// Signs a token (local gateway's `token` subcommand and tests).
pub fn mint_token(
    account_id: &str,
    kid: &str,
    secret: &str,
    user_id: &str,
    role: Role,
    issued_at_secs: i64,
    ttl_secs: i64,
) -> String {
    let lifetime = (issued_at_secs, ttl_secs);
    mint_token_in(account_id, kid, secret, user_id, role, lifetime, None)
}

/// [`mint_token`] with a `locale` claim (a visitor's language, from their widget).
pub fn mint_token_in(
    account_id: &str,
    kid: &str,
    secret: &str,
    user_id: &str,
    role: Role,
    (issued_at_secs, ttl_secs): (i64, i64),
    locale: Option<domain::locale::Locale>,
) -> String {
    let header = Header {
        alg: "HS256".into(),
        kid: Some(kid.into()),
        typ: Some("JWT".into()),
    };
    let claims = Claims {
        acct: account_id.into(),
        sub: user_id.into(),
        role: role.as_str().into(),
        exp: issued_at_secs + ttl_secs,
        iat: Some(issued_at_secs),
        nbf: None,
        name: None,
        email: None,
        locale: locale.map(|l| serde_json::Value::from(l.code())),
    };
    sign_parts(
        &serde_json::json!(header),
        &serde_json::json!(claims),
        secret,
    )
}

/// Signs arbitrary header and claims JSON with HS256: tests use it to forge odd tokens.
pub fn sign_parts(header: &serde_json::Value, claims: &serde_json::Value, secret: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key size");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests;
