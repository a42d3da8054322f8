//! An account's effective settings, read once per warm function instead of once per request
//! (#41): routing, ending and posting call `Backend::settings`, and the fan-out's reactions
//! ask the narrower [`AccountSettings`] port, which a [`crate::Backend`] answers the same way;
//! both answer from this cache.
//!
//! - An entry is trusted for [`SETTINGS_CACHE_TTL`]; after that the next caller reads the
//!   settings and the account again (both, together: one round trip).
//! - Entries carry the settings' version, and an entry is never replaced by an older version:
//!   a read that started before a change and ends after it cannot put the old settings back.
//! - The function that commits a change keeps the new version at once
//!   (`settings_change::change_settings`), so its own next request sees it; another warm
//!   function sees it within the TTL. docs/decisions.md ("Settings read once per warm
//!   function") lists what may lag that long and what never reads through the cache (the
//!   settings API itself, the change's own effects, and the retention a conversation at rest
//!   is stamped with).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::settings::Settings;

use crate::error::StoreError;

/// How long a warm function trusts the settings it read (a change made elsewhere reaches it
/// within this time).
pub const SETTINGS_CACHE_TTL: Duration = Duration::from_secs(5);
/// Accounts kept at most; a full cache starts over.
const MAX_ACCOUNTS: usize = 10_000;

/// The account's effective settings, at most [`SETTINGS_CACHE_TTL`] old.
#[async_trait]
pub trait AccountSettings: Send + Sync {
    async fn account_settings(&self, account_id: &str) -> Result<Settings, StoreError>;
}

struct Entry {
    version: u64,
    settings: Settings,
    read_at: Instant,
}

/// Settings per account, each with its version and the time it was read.
pub struct SettingsCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for SettingsCache {
    fn default() -> Self {
        Self::with_ttl(SETTINGS_CACHE_TTL)
    }
}

impl SettingsCache {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The settings read less than a TTL ago, if any.
    pub fn fresh(&self, account_id: &str) -> Option<Settings> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(account_id)
            .filter(|entry| entry.read_at.elapsed() < self.ttl)
            .map(|entry| entry.settings.clone())
    }

    /// Keeps `settings` at `version` (0: never changed), unless a newer version is kept.
    pub fn keep(&self, account_id: &str, version: u64, settings: &Settings) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries
            .get(account_id)
            .is_some_and(|kept| kept.version > version)
        {
            return;
        }
        if entries.len() >= MAX_ACCOUNTS && !entries.contains_key(account_id) {
            entries.clear();
        }
        entries.insert(
            account_id.to_string(),
            Entry {
                version,
                settings: settings.clone(),
                read_at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_greeting(text: &str) -> Settings {
        let mut settings = Settings::default();
        settings.bot.greeting = text.into();
        settings
    }

    #[test]
    fn a_kept_version_is_fresh_until_its_ttl_passes() {
        let cache = SettingsCache::with_ttl(Duration::from_millis(50));
        assert!(cache.fresh("a").is_none());
        cache.keep("a", 3, &with_greeting("v3"));
        assert_eq!(cache.fresh("a").unwrap().bot.greeting, "v3");
        assert!(
            cache.fresh("b").is_none(),
            "another account is not answered"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.fresh("a").is_none(), "stale after the TTL");
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = SettingsCache::default();
        cache.keep("a", 4, &with_greeting("v4"));
        // A read that started before version 4 was committed ends after it.
        cache.keep("a", 3, &with_greeting("v3"));
        assert_eq!(cache.fresh("a").unwrap().bot.greeting, "v4");
        // Control: a newer version replaces it.
        cache.keep("a", 5, &with_greeting("v5"));
        assert_eq!(cache.fresh("a").unwrap().bot.greeting, "v5");
    }
}
