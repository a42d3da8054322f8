//! The embeddable widget (spec "Widget (browser)", R28): the public widget key that names an
//! account, the origins a browser may call from, anonymous visitors and their rate limit.
//! Pure logic; the use cases in `use_cases::visitors` store and sign.

use crate::ids::{is_valid_id, new_id};

/// A widget key is `wk.<account_id>.<32 hex digits>`: public (it sits in the company's page),
/// so naming the account in it costs nothing and saves a lookup table; the random part is
/// what rotation replaces, and a key only counts while it equals the account's current one.
const WIDGET_KEY_PREFIX: &str = "wk.";

/// A fresh widget key for `account_id`.
pub fn new_widget_key(account_id: &str) -> String {
    let random = new_id("wk");
    // `new_id` gives `wk_<hex>`; the key keeps only the hex.
    let hex = random.trim_start_matches("wk_");
    format!("{WIDGET_KEY_PREFIX}{account_id}.{hex}")
}

/// An account's first widget key, its default until an admin rotates it: the random key drawn
/// when the account was created (#33 item 5: a key derived from the account's id and creation
/// instant could be computed by whoever learns both). Accounts created before that have none
/// stored and keep the derived key they have always had, until rotated.
pub fn first_widget_key(account: &crate::model::Account) -> String {
    if let Some(key) = &account.widget_key {
        return key.clone();
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!(
        "relay-widget-key|{}|{}",
        account.id, account.created_at
    ));
    format!(
        "{WIDGET_KEY_PREFIX}{}.{}",
        account.id,
        hex::encode(&digest[..16])
    )
}

/// The account a well-formed widget key names (`None` for anything else). Whether the key is
/// still the account's current one is for the caller to check against its settings.
pub fn account_of_widget_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(WIDGET_KEY_PREFIX)?;
    let (account_id, random) = rest.rsplit_once('.')?;
    let well_formed = random.len() == 32
        && random.bytes().all(|b| b.is_ascii_hexdigit())
        && crate::ids::is_safe_identifier(account_id);
    well_formed.then_some(account_id)
}

/// Anonymous visitors: their ids, tokens and how fast one address may mint them.
pub const VISITOR_ID_PREFIX: &str = "visitor";
/// A visitor token lives a day; the widget asks for a new visitor after that.
pub const VISITOR_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// How many new visitors one source address may create for an account per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorRate {
    pub per_window: u32,
    pub window_ms: i64,
}

/// The spec's limit: 30 per minute per source address and account; the next one is 429.
pub const VISITOR_RATE: VisitorRate = VisitorRate {
    per_window: 30,
    window_ms: 60_000,
};
/// The signing key that visitor tokens are signed with, one per account, generated on first
/// use. Never a company key: a leaked visitor key cannot mint agent or admin tokens because
/// tokens under this kid are only accepted as visitors (`crate::auth`).
pub const VISITOR_SIGNING_KID: &str = "relay-widget-visitors";

pub fn new_visitor_id() -> String {
    new_id(VISITOR_ID_PREFIX)
}

pub fn is_visitor_id(user_id: &str) -> bool {
    is_valid_id(VISITOR_ID_PREFIX, user_id)
}

/// Identify: `conversation` as the identified user's, if it still is the visitor's (`None`
/// when it already moved: a retried identify, or a stale index entry).
pub fn moved_to_identified_user(
    conversation: &crate::model::Conversation,
    visitor_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Option<crate::model::Conversation> {
    (conversation.owner_id == visitor_id).then(|| {
        let mut next = conversation.clone();
        next.owner_id = user_id.to_string();
        next.revision += 1;
        next.updated_at = now_ms;
        next
    })
}

impl VisitorRate {
    /// The window `now_ms` falls in (its start), and the seconds left until the next one: the
    /// `Retry-After` of a refused visitor.
    pub fn window(&self, now_ms: i64) -> (i64, u64) {
        let start = now_ms - now_ms.rem_euclid(self.window_ms);
        let left_ms = start + self.window_ms - now_ms;
        (start, (left_ms as u64).div_ceil(1000).max(1))
    }
}

/// At most this many allowed origins per account.
pub const MAX_ALLOWED_ORIGINS: usize = 100;

/// Why a string is not an origin as browsers send it in the `Origin` header: lower-case
/// `http` or `https`, a host, an optional port, nothing after (no path, no trailing slash).
pub fn origin_problem(origin: &str) -> Option<String> {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Some(format!(
            "`{origin}` is not an origin (scheme://host[:port])"
        ));
    };
    if scheme != "https" && scheme != "http" {
        return Some(format!(
            "`{origin}`: only http and https origins are allowed"
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.[]:".contains(&b));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && !p.starts_with('0')
    });
    if !host_ok || !port_ok {
        return Some(format!(
            "`{origin}` is not an origin: write it as the browser sends it (lower case, no path, no trailing slash)"
        ));
    }
    None
}

/// Whether a browser request from `origin` may act as an end user of an account allowing
/// `allowed`. `host` is the request's own `Host`: a page served by the API's own host (the
/// local gateway's widget and demo pages) is same-origin and always allowed.
pub fn origin_allowed(origin: &str, allowed: &[String], host: Option<&str>) -> bool {
    let same_origin = host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    });
    same_origin || allowed.iter().any(|a| a == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_widget_key_names_its_account_and_rotation_changes_it() {
        let key = new_widget_key("acme.eu");
        assert_eq!(account_of_widget_key(&key), Some("acme.eu"));
        assert_ne!(new_widget_key("acme.eu"), key);
        for forged in [
            "wk.acme",
            "wk.acme.123",
            "acme.0123456789abcdef0123456789abcdef",
            "wk.ac#me.0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(account_of_widget_key(forged), None, "{forged}");
        }
    }

    #[test]
    fn origins_are_checked_as_browsers_send_them() {
        for good in [
            "https://shop.example",
            "http://localhost:8080",
            "http://127.0.0.1:3000",
        ] {
            assert_eq!(origin_problem(good), None, "{good}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://Shop.example",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://shop.example:0080",
            "https://",
            "*",
        ] {
            assert!(origin_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn only_listed_or_same_origin_pages_are_allowed() {
        let allowed = vec!["https://shop.example".to_string()];
        assert!(origin_allowed("https://shop.example", &allowed, None));
        assert!(!origin_allowed("https://evil.example", &allowed, None));
        assert!(!origin_allowed("https://shop.example.evil", &allowed, None));
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            &[],
            Some("127.0.0.1:8080")
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1:9999",
            &[],
            Some("127.0.0.1:8080")
        ));
    }

    #[test]
    fn the_rate_window_tells_when_to_retry() {
        assert_eq!(VISITOR_RATE.window(60_000), (60_000, 60));
        assert_eq!(VISITOR_RATE.window(119_001), (60_000, 1));
        assert_eq!(VISITOR_RATE.window(90_500), (60_000, 30));
    }
}
