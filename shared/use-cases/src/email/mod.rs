//! Email continuation (R35). `inbound`: a raw reply taken from the bucket becomes the end
//! user's message; `reply_address` (here): the signed address an outgoing email carries.

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
