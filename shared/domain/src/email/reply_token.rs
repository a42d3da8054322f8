//! The reply address of a conversation's emails (R35): `reply+{token}@{reply domain}`.
//!
//! An address's local part holds at most 64 characters, too few for an account, a
//! conversation and a signature. So the token names a stored grant: 16 hex characters of
//! random id, then 20 of an HMAC-SHA256 over the grant (id, account, conversation, expiry)
//! under the account's own email secret. A token is honoured only when its grant exists, its
//! signature verifies under the secret of the grant's account, and it has not expired; one
//! account's secret can never vouch for another account's conversation.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a reply address's local part starts with.
pub const REPLY_LOCAL_PREFIX: &str = "reply+";

/// How long a reply address keeps working after its email was sent (90 days, in ms): a
/// customer answering a months-old email starts over in the widget, not in a stale thread.
pub const REPLY_TOKEN_TTL_MS: i64 = 90 * 24 * 3_600_000;

const ID_BYTES: usize = 8;
const MAC_BYTES: usize = 10;
/// Hex characters of a token: the id's then the signature's.
pub const TOKEN_LEN: usize = 2 * (ID_BYTES + MAC_BYTES);

/// The stored half of a reply token: which conversation it answers, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyGrant {
    pub token_id: String,
    pub account_id: String,
    pub conversation_id: String,
    /// Epoch ms after which the token is refused.
    pub valid_until: i64,
}

/// A token as read from an address: not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyToken {
    pub token_id: String,
    mac: String,
}

/// Why a token is refused (the mail is dropped and logged, never appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No grant of that id, or a signature its account's secret did not make.
    #[error("forged or unknown reply token")]
    Forged,
    #[error("expired reply token")]
    Expired,
}

impl TokenRefusal {
    /// A stable name for logs and the failure list.
    pub fn code(self) -> &'static str {
        match self {
            Self::Forged => "forged_token",
            Self::Expired => "expired_token",
        }
    }
}

fn signature(secret: &[u8], grant: &ReplyGrant) -> String {
    // Keys of any length are accepted by HMAC; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    for part in [
        "relay-email-reply-v1",
        &grant.token_id,
        &grant.account_id,
        &grant.conversation_id,
        &grant.valid_until.to_string(),
    ] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    hex::encode(&mac.finalize().into_bytes()[..MAC_BYTES])
}

/// A new grant for conversation `cid` of `account_id`, valid for [`REPLY_TOKEN_TTL_MS`], and
/// the token that names it.
pub fn mint(secret: &[u8], account_id: &str, cid: &str, now: i64) -> (ReplyGrant, String) {
    let mut id = [0u8; ID_BYTES];
    // The OS random source failing is not recoverable for a service that must mint tokens.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut id).expect("operating system random source is unavailable");
    let grant = ReplyGrant {
        token_id: hex::encode(id),
        account_id: account_id.into(),
        conversation_id: cid.into(),
        valid_until: now + REPLY_TOKEN_TTL_MS,
    };
    let token = format!("{}{}", grant.token_id, signature(secret, &grant));
    (grant, token)
}

/// The reply address for `token` at `domain`.
pub fn reply_address(token: &str, domain: &str) -> String {
    format!("{REPLY_LOCAL_PREFIX}{token}@{domain}")
}

/// The token of a reply address (any domain: the mail reached us), if it is one.
pub fn parse_address(address: &str) -> Option<ReplyToken> {
    let (local, _domain) = address.trim().rsplit_once('@')?;
    let token = local.get(..REPLY_LOCAL_PREFIX.len()).and_then(|prefix| {
        prefix
            .eq_ignore_ascii_case(REPLY_LOCAL_PREFIX)
            .then(|| &local[REPLY_LOCAL_PREFIX.len()..])
    })?;
    // Some relays upper-case local parts; hex reads the same either way.
    let token = token.to_ascii_lowercase();
    (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())).then(|| ReplyToken {
        token_id: token[..2 * ID_BYTES].into(),
        mac: token[2 * ID_BYTES..].into(),
    })
}

/// Whether `token` is `grant`'s, signed with `secret` (its account's), and still valid.
pub fn verify(
    secret: &[u8],
    grant: &ReplyGrant,
    token: &ReplyToken,
    now: i64,
) -> Result<(), TokenRefusal> {
    let expected = signature(secret, grant);
    let same = grant.token_id == token.token_id
        && expected.len() == token.mac.len()
        && expected
            .bytes()
            .zip(token.mac.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if !same {
        return Err(TokenRefusal::Forged);
    }
    if now > grant.valid_until {
        return Err(TokenRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_minted_token_fits_an_address_and_verifies() {
        let (grant, token) = mint(b"secret-a", "acme", "c_1", NOW);
        let address = reply_address(&token, "reply.example.com");
        let local = address.split('@').next().unwrap_or_default();
        assert!(local.len() <= 64, "{local}");
        let parsed = parse_address(&address.to_uppercase()).expect("a reply address");
        assert_eq!(verify(b"secret-a", &grant, &parsed, NOW), Ok(()));
    }

    #[test]
    fn another_accounts_secret_a_changed_grant_or_a_late_reply_are_refused() {
        let (grant, token) = mint(b"secret-a", "acme", "c_1", NOW);
        let parsed = parse_address(&reply_address(&token, "x.test")).expect("parsed");
        assert_eq!(
            verify(b"secret-b", &grant, &parsed, NOW),
            Err(TokenRefusal::Forged)
        );
        let moved = ReplyGrant {
            conversation_id: "c_2".into(),
            ..grant.clone()
        };
        assert_eq!(
            verify(b"secret-a", &moved, &parsed, NOW),
            Err(TokenRefusal::Forged)
        );
        assert_eq!(
            verify(b"secret-a", &grant, &parsed, grant.valid_until + 1),
            Err(TokenRefusal::Expired)
        );
        let mut flipped = token.clone();
        let last = if flipped.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(TOKEN_LEN - 1.., last);
        let forged = parse_address(&reply_address(&flipped, "x.test")).expect("parsed");
        assert_eq!(
            verify(b"secret-a", &grant, &forged, NOW),
            Err(TokenRefusal::Forged)
        );
    }

    #[test]
    fn other_addresses_are_not_tokens() {
        for address in [
            "support@example.com",
            "reply+abc@example.com",
            "reply+zz0000000000000000000000000000000000@x.test",
            "reply+",
        ] {
            assert_eq!(parse_address(address), None, "{address}");
        }
    }
}
