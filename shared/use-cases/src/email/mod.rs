//! Email continuation (R35). `followup`: an unread agent reply is emailed; `inbound`: a raw
//! reply taken from the bucket becomes the end user's message; `reply_address` (here): the
//! signed address an outgoing email carries.

pub mod followup;
pub mod inbound;

use domain::email::reply_token::{mint, reply_address as address_of};

use crate::error::StoreError;
use crate::ports::EmailStore;

/// The reply address of conversation `cid`: a new grant is stored, signed with the account's
/// email secret (made on first use), valid for `REPLY_TOKEN_TTL_MS`.
pub async fn reply_address(
    store: &dyn EmailStore,
    account_id: &str,
    cid: &str,
    domain: &str,
    now: i64,
) -> Result<String, StoreError> {
    let secret = match store.email_secret(account_id).await? {
        Some(secret) => secret,
        None => {
            let mut candidate = [0u8; 32];
            getrandom::fill(&mut candidate)
                .map_err(|_| StoreError::Internal("no operating system random source".into()))?;
            store.create_email_secret(account_id, &candidate).await?
        }
    };
    let (grant, token) = mint(&secret, account_id, cid, now);
    store.put_reply_grant(&grant).await?;
    Ok(address_of(&token, domain))
}

/// Stops emails to the addresses SES's bounce or complaint names (R35); answers them. An SNS
/// message that is not an SES event (a subscription confirmation) is logged and left.
pub async fn suppress_after_event(
    store: &dyn EmailStore,
    envelope: &domain::email::events::SnsEnvelope,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let addresses = match domain::email::events::addresses_to_suppress(envelope) {
        Ok(addresses) => addresses,
        Err(reason) => {
            tracing::warn!(kind = %envelope.kind, reason, "email event ignored");
            return Ok(Vec::new());
        }
    };
    let mut suppressed = Vec::new();
    for (address, reason) in addresses {
        store.suppress_address(&address, reason, now).await?;
        tracing::info!(reason, "email address suppressed");
        suppressed.push(address);
    }
    Ok(suppressed)
}
