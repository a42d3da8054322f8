//! What a warm function remembers of the keys tokens name (R33: "failing token or key checks
//! never make a valid token fail; misses are budgeted per account and key id, unknown key ids
//! are remembered as unknown").
//!
//! - A key that exists is cached for [`SIGNING_KEY_CACHE_TTL`]; once stale it is always read
//!   again (whatever junk arrives meanwhile), so a valid token never waits on a budget.
//! - A key id the table does not have is remembered as unknown for [`UNKNOWN_KEY_TTL`]: a
//!   flood of one junk id costs one read, and a flood of many costs one read each at most
//!   (kids of real keys are random, so a remembered unknown never delays a new key).
//! - A token whose signature fails against a cached key may mean the secret was rotated: the
//!   key is read again, at most [`MAX_MISSED_READS`] times per [`MISS_WINDOW`] *for that account
//!   and key id*; beyond that it is refused against the cached key. Other keys and accounts
//!   keep their own budgets, so one tenant's junk never costs another tenant a read.
//!
//! Known and unknown entries live in separate maps, so junk can evict only junk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::model::SigningKey;

/// How long a function trusts a signing key it read: a key revoked elsewhere still verifies
/// tokens for at most this long in a warm function (recorded in docs/decisions.md).
pub const SIGNING_KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// How long a key id the table does not hold is refused without a read.
pub const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(10);
/// Re-reads of one account's key id, per [`MISS_WINDOW`], for signatures that did not match.
pub const MAX_MISSED_READS: u32 = 5;
pub const MISS_WINDOW: Duration = Duration::from_secs(1);
/// Entries each map keeps at most; a full map starts over (keys are few per account).
const MAX_ENTRIES: usize = 10_000;

type KeyId = (String, String);

/// What the cache says of a key id before any read.
pub enum Cached {
    /// Read less than a TTL ago.
    Fresh(SigningKey),
    /// The table had no such key a moment ago.
    Unknown,
    /// Never read, or read too long ago: read it.
    Unsure,
}

/// Signing keys read once per warm function instead of once per request.
pub struct SigningKeys {
    ttl: Duration,
    unknown_ttl: Duration,
    known: Mutex<HashMap<KeyId, (SigningKey, Instant)>>,
    unknown: UnknownKeys,
    misses: Mutex<HashMap<KeyId, (Instant, u32)>>,
    max_misses: u32,
    miss_window: Duration,
}

impl Default for SigningKeys {
    fn default() -> Self {
        Self::with_ttl(SIGNING_KEY_CACHE_TTL)
    }
}

impl SigningKeys {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self::with_limits(ttl, UNKNOWN_KEY_TTL, MAX_MISSED_READS, MISS_WINDOW)
    }

    /// A cache with its own times and budget (tests shorten them).
    pub fn with_limits(
        ttl: Duration,
        unknown_ttl: Duration,
        max_misses: u32,
        miss_window: Duration,
    ) -> Self {
        Self {
            ttl,
            unknown_ttl,
            known: Mutex::new(HashMap::new()),
            unknown: UnknownKeys::new(unknown_ttl),
            misses: Mutex::new(HashMap::new()),
            max_misses,
            miss_window,
        }
    }

    pub fn lookup(&self, account_id: &str, kid: &str) -> Cached {
        let id = (account_id.to_string(), kid.to_string());
        if let Ok(known) = self.known.lock() {
            if let Some((key, read_at)) = known.get(&id) {
                if read_at.elapsed() < self.ttl {
                    return Cached::Fresh(key.clone());
                }
                return Cached::Unsure;
            }
        }
        if self.unknown.remembers(account_id, kid) {
            return Cached::Unknown;
        }
        Cached::Unsure
    }

    /// Whether a signature that failed against the cached key of `kid` may be checked against
    /// the table once more (its own budget; counts the read).
    pub fn may_reread(&self, account_id: &str, kid: &str) -> bool {
        let Ok(mut misses) = self.misses.lock() else {
            return false;
        };
        if misses.len() >= MAX_ENTRIES {
            misses.clear();
        }
        let entry = misses
            .entry((account_id.to_string(), kid.to_string()))
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.miss_window {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= self.max_misses {
            return false;
        }
        entry.1 += 1;
        if entry.1 == self.max_misses {
            tracing::warn!(
                account_id,
                kid,
                window_ms = self.miss_window.as_millis() as u64,
                "tokens under this key keep failing their signature; refused against the cached key until the window ends"
            );
        }
        true
    }

    /// Records what a read found.
    pub fn remember(&self, account_id: &str, kid: &str, key: Option<&SigningKey>) {
        let id = (account_id.to_string(), kid.to_string());
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        match key {
            Some(key) => {
                if known.len() >= MAX_ENTRIES {
                    known.clear();
                }
                known.insert(id, (key.clone(), Instant::now()));
                self.unknown.forget(account_id, kid);
            }
            None => {
                known.remove(&id);
                self.unknown.remember(account_id, kid);
            }
        }
    }

    /// A key revoked here: refused by this function at once (others within their TTL).
    pub fn forget(&self, account_id: &str, kid: &str) {
        self.remember(account_id, kid, None);
    }

    /// How long unknown ids are remembered (for the docs and tests).
    pub fn unknown_ttl(&self) -> Duration {
        self.unknown_ttl
    }
}

/// Key ids (signing keys' kids, integration keys' ids) the table did not hold a moment ago.
pub struct UnknownKeys {
    ttl: Duration,
    seen: Mutex<HashMap<KeyId, Instant>>,
}

impl Default for UnknownKeys {
    fn default() -> Self {
        Self::new(UNKNOWN_KEY_TTL)
    }
}

impl UnknownKeys {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            seen: Mutex::new(HashMap::new()),
        }
    }

    pub fn remembers(&self, account_id: &str, id: &str) -> bool {
        let Ok(seen) = self.seen.lock() else {
            return false;
        };
        seen.get(&(account_id.to_string(), id.to_string()))
            .is_some_and(|at| at.elapsed() < self.ttl)
    }

    pub fn remember(&self, account_id: &str, id: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= MAX_ENTRIES {
                seen.clear();
            }
            seen.insert((account_id.to_string(), id.to_string()), Instant::now());
        }
    }

    pub fn forget(&self, account_id: &str, id: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(&(account_id.to_string(), id.to_string()));
        }
    }
}
