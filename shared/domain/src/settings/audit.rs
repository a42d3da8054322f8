//! R10: every accepted settings change, hash-chained to the one before it (who, when,
//! before, after), and the check that a chain is unbroken.

use super::*;

/// A page of an audit log (`GET /v1/settings/audit`, `GET /v1/macros/audit`): the default
/// and the most entries.
pub const DEFAULT_AUDIT_PAGE: usize = 50;
pub const MAX_AUDIT_PAGE: usize = 100;

/// The cursor of the page after `entries`, a page of at most `limit`: `None` when it was the
/// last one.
pub fn next_audit_cursor(entries: &[AuditEntry], limit: usize) -> Option<String> {
    (entries.len() == limit)
        .then(|| entries.last().map(|e| e.version.to_string()))
        .flatten()
}

/// `prev_hash` of the first audit entry of an account.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One accepted settings change (R10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub account_id: String,
    /// The settings version this change produced.
    pub version: u64,
    /// Who: the admin's user id.
    pub actor: String,
    /// When, epoch milliseconds.
    pub at: i64,
    pub changes: BTreeMap<String, Change>,
    pub prev_hash: String,
    /// SHA-256 over the canonical JSON of every other field (`prev_hash` included).
    pub hash: String,
}

impl AuditEntry {
    /// A new entry chained to `prev_hash`, its hash computed.
    pub fn new(
        account_id: &str,
        version: u64,
        actor: &str,
        at: i64,
        changes: BTreeMap<String, Change>,
        prev_hash: &str,
    ) -> Self {
        let mut entry = Self {
            account_id: account_id.into(),
            version,
            actor: actor.into(),
            at,
            changes,
            prev_hash: prev_hash.into(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }

    /// The hash this entry should carry. The canonical form is serde_json's rendering of the
    /// fields in declaration order, with object keys sorted (BTreeMap and serde_json::Map).
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!({
            "account_id": self.account_id,
            "version": self.version,
            "actor": self.actor,
            "at": self.at,
            "changes": self.changes,
            "prev_hash": self.prev_hash,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Checks a chain read oldest first from its start: each entry's hash is right and names its
/// predecessor. Returns the version of the first entry that breaks the chain.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<(), u64> {
    let mut prev = GENESIS_HASH.to_string();
    for entry in entries {
        if entry.prev_hash != prev || entry.compute_hash() != entry.hash {
            return Err(entry.version);
        }
        prev = entry.hash.clone();
    }
    Ok(())
}
