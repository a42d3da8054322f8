//! Integrations (spec "Integrations", R28): keys an admin creates for a bot or a webhook
//! consumer. A key is shown once and kept only as a hash; it names its account and
//! integration, so checking one is a single read of that integration.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::ids::{is_safe_identifier, is_valid_id, new_id};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationScope {
    /// Post messages as the bot and hand off conversations under bot control.
    Bot,
    /// Manage the account's webhook subscriptions.
    Webhooks,
}

/// A stored integration. `key_hash` is the SHA-256 of the key's secret part: the key itself
/// is never stored (a leaked table does not leak working keys).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub account_id: String,
    pub id: String,
    pub name: String,
    pub scopes: Vec<IntegrationScope>,
    pub key_hash: String,
    pub created_at: i64,
    pub created_by: String,
    #[serde(default)]
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for Integration {
    // Not even the hash reaches logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("account_id", &self.account_id)
            .field("id", &self.id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Integration {
    pub fn has_scope(&self, scope: IntegrationScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Longest integration name, in characters.
pub const MAX_INTEGRATION_NAME_CHARS: usize = 100;
/// Integrations an account may hold at once.
pub const MAX_INTEGRATIONS_PER_ACCOUNT: usize = 50;
/// `last_used_at` is written at most this often per integration: a bot posting every second
/// costs a read per call, not also a write (recorded in docs/decisions.md).
pub const LAST_USED_GRANULARITY_MS: i64 = 60_000;

const KEY_PREFIX: &str = "rk.";
const SECRET_BYTES: usize = 32;

/// Body of `POST /v1/integrations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIntegration {
    pub name: String,
    pub scopes: Vec<IntegrationScope>,
}

/// An integration just created, with the one copy of its key there will ever be.
pub struct CreatedIntegration {
    pub integration: Integration,
    pub key: String,
}

/// Validates `request` and mints the integration and its key. 422 `invalid_field` for an
/// empty or overlong name, or no scope.
pub fn create_integration(
    account_id: &str,
    created_by: &str,
    request: NewIntegration,
    now: i64,
) -> Result<CreatedIntegration, DomainError> {
    let name = request.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_INTEGRATION_NAME_CHARS {
        return Err(DomainError::InvalidField(format!(
            "name must be 1-{MAX_INTEGRATION_NAME_CHARS} characters"
        )));
    }
    let mut scopes = request.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(DomainError::InvalidField(
            "scopes must name at least one of bot, webhooks".into(),
        ));
    }
    let id = new_id("int");
    let mut secret = [0u8; SECRET_BYTES];
    // As for ids: without the OS random source no key can be minted at all.
    getrandom::fill(&mut secret).expect("operating system random source is unavailable");
    let secret = hex::encode(secret);
    let key = format!("{KEY_PREFIX}{account_id}.{id}.{secret}");
    Ok(CreatedIntegration {
        integration: Integration {
            account_id: account_id.into(),
            id,
            name,
            scopes,
            key_hash: hash_secret(&secret),
            created_at: now,
            created_by: created_by.into(),
            last_used_at: None,
        },
        key,
    })
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A bearer token that has the shape of an integration key (a JWT never does: its first
/// segment is base64 of a JSON object).
pub fn looks_like_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

/// The parts of a presented key: whose it claims to be, and the secret to check.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    pub account_id: &'a str,
    pub integration_id: &'a str,
    secret: &'a str,
}

/// Splits `rk.{account}.{integration}.{secret}`; `None` for anything malformed. The account
/// may itself contain dots, so the two fixed-shape parts are taken from the right.
pub fn parse_key(token: &str) -> Option<PresentedKey<'_>> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let mut parts = rest.rsplitn(3, '.');
    let (secret, integration_id, account_id) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = secret.len() == SECRET_BYTES * 2
        && secret.bytes().all(|b| b.is_ascii_hexdigit())
        && is_valid_id("int", integration_id)
        && is_safe_identifier(account_id);
    well_formed.then_some(PresentedKey {
        account_id,
        integration_id,
        secret,
    })
}

impl PresentedKey<'_> {
    /// Whether this key is the one `stored` was created with (constant time in the hash).
    pub fn opens(&self, stored: &Integration) -> bool {
        let presented = hash_secret(self.secret);
        stored.account_id == self.account_id
            && stored.id == self.integration_id
            && presented.len() == stored.key_hash.len()
            && presented
                .bytes()
                .zip(stored.key_hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// Whether a use at `now` should be written down (`last_used_at`), see
/// [`LAST_USED_GRANULARITY_MS`].
pub fn use_is_news(stored: &Integration, now: i64) -> bool {
    stored
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_GRANULARITY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(scopes: Vec<IntegrationScope>) -> CreatedIntegration {
        create_integration(
            "acme.eu",
            "admin1",
            NewIntegration {
                name: " Answer bot ".into(),
                scopes,
            },
            1_000,
        )
        .unwrap()
    }

    #[test]
    fn a_created_key_opens_its_integration_and_no_other() {
        let one = created(vec![IntegrationScope::Bot]);
        let other = created(vec![IntegrationScope::Bot]);
        let presented = parse_key(&one.key).unwrap();
        assert_eq!(presented.account_id, "acme.eu");
        assert_eq!(presented.integration_id, one.integration.id);
        assert!(presented.opens(&one.integration));
        assert!(!presented.opens(&other.integration));
        assert_eq!(one.integration.name, "Answer bot");
        assert!(!one
            .integration
            .key_hash
            .contains(&one.key[one.key.len() - 64..]));
    }

    #[test]
    fn a_key_moved_to_another_account_does_not_open() {
        let one = created(vec![IntegrationScope::Bot]);
        let mut foreign = one.integration.clone();
        foreign.account_id = "other".into();
        assert!(!parse_key(&one.key).unwrap().opens(&foreign));
    }

    #[test]
    fn malformed_keys_are_not_keys() {
        let one = created(vec![IntegrationScope::Webhooks]);
        let secret_cut = &one.key[..one.key.len() - 1];
        for bad in [
            "rk.",
            "rk.acct.int_x.abc",
            secret_cut,
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
        assert!(!looks_like_key("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
    }

    #[test]
    fn names_and_scopes_are_checked_and_scopes_deduplicated() {
        let new = |name: &str, scopes| NewIntegration {
            name: name.into(),
            scopes,
        };
        assert!(matches!(
            create_integration("a", "u", new("  ", vec![IntegrationScope::Bot]), 0),
            Err(DomainError::InvalidField(_))
        ));
        assert!(matches!(
            create_integration("a", "u", new("bot", vec![]), 0),
            Err(DomainError::InvalidField(_))
        ));
        let both = create_integration(
            "a",
            "u",
            new(
                "x",
                vec![
                    IntegrationScope::Webhooks,
                    IntegrationScope::Bot,
                    IntegrationScope::Webhooks,
                ],
            ),
            0,
        )
        .unwrap();
        assert_eq!(
            both.integration.scopes,
            vec![IntegrationScope::Bot, IntegrationScope::Webhooks]
        );
    }

    #[test]
    fn uses_are_written_down_once_a_minute() {
        let mut stored = created(vec![IntegrationScope::Bot]).integration;
        assert!(use_is_news(&stored, 5_000));
        stored.last_used_at = Some(5_000);
        assert!(!use_is_news(&stored, 5_000 + LAST_USED_GRANULARITY_MS - 1));
        assert!(use_is_news(&stored, 5_000 + LAST_USED_GRANULARITY_MS));
    }
}
