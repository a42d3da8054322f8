//! Visitor context (spec "The browser: widget and console"): which pages the end user was on
//! (path and title, never a query string or fragment, the last 20) and their browser, OS and
//! device class, shown to agents beside the conversation. The widget sends the pages unless
//! the account turned `widget.share_page_views` off; the browser, OS and device class are
//! read from the request's `User-Agent` at the edge.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::model::{Actor, Conversation, Role};

/// Pages kept per conversation: the most recent.
pub const MAX_PAGES: usize = 20;
pub const MAX_PATH_CHARS: usize = 500;
pub const MAX_TITLE_CHARS: usize = 200;
/// How far from now a page view's time may be (a day back; a few minutes of clock skew ahead).
const OLDEST_MS: i64 = 24 * 3600 * 1000;
const SKEW_MS: i64 = 5 * 60 * 1000;

/// One page the end user was on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageView {
    /// The path only: what followed `?` or `#` is dropped before it is kept.
    pub path: String,
    #[serde(default)]
    pub title: String,
    /// When (epoch milliseconds).
    pub at: i64,
}

/// What kind of device the end user is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Other,
}

/// The end user's browser as their `User-Agent` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// "Chrome 120.0.0.0"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// "Mac OSX 10.15.7"
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceClass>,
}

/// What agents see of where the end user is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorContext {
    /// Oldest first, at most [`MAX_PAGES`].
    pub pages: Vec<PageView>,
    #[serde(flatten)]
    pub client: Client,
    pub updated_at: i64,
}

fn invalid(message: String) -> DomainError {
    DomainError::InvalidVisitorContext(message)
}

/// The pages as they are kept: each path without its query or fragment, titles trimmed,
/// oldest first. 422 `invalid_visitor_context` for more than [`MAX_PAGES`], a path that is
/// not one (`/…`), text with control characters, text too long, or a time not near now.
pub fn checked_pages(mut pages: Vec<PageView>, now: i64) -> Result<Vec<PageView>, DomainError> {
    if pages.len() > MAX_PAGES {
        return Err(invalid(format!("at most {MAX_PAGES} pages")));
    }
    // Checked as sent (the contract's patterns), then trimmed and cut at `?` or `#`.
    let spacing = |c: char| c.is_control() || c.is_whitespace() || c == '\u{feff}';
    for page in &mut pages {
        if !page.path.starts_with('/')
            || page.path.chars().count() > MAX_PATH_CHARS
            || page.path.chars().any(spacing)
        {
            return Err(invalid(format!(
                "a page's path starts with / and has at most {MAX_PATH_CHARS} characters, no spaces"
            )));
        }
        page.path = page
            .path
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_string();
        if page.title.chars().count() > MAX_TITLE_CHARS || page.title.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "a page's title has at most {MAX_TITLE_CHARS} characters, no control characters"
            )));
        }
        page.title = page.title.trim().to_string();
        if page.at < now - OLDEST_MS || page.at > now + SKEW_MS {
            return Err(invalid(
                "a page's time (epoch milliseconds) is within the last day".into(),
            ));
        }
    }
    pages.sort_by_key(|p| p.at);
    Ok(pages)
}

/// The conversation with this context, credited to its end user; `None` when nothing changed.
pub fn with_context(
    current: &Conversation,
    pages: Vec<PageView>,
    client: Client,
    now: i64,
) -> Option<Conversation> {
    let unchanged = current
        .visitor_context
        .as_ref()
        .is_some_and(|c| c.pages == pages && c.client == client);
    if unchanged {
        return None;
    }
    let mut next = current.clone();
    next.visitor_context = Some(VisitorContext {
        pages,
        client,
        updated_at: now,
    });
    next.revision += 1;
    next.stamp(Actor {
        role: Role::EndUser,
        id: current.owner_id.clone(),
    });
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn page(path: &str, title: &str, at: i64) -> PageView {
        PageView {
            path: path.into(),
            title: title.into(),
            at,
        }
    }

    #[test]
    fn queries_and_fragments_are_dropped_and_pages_come_oldest_first() {
        let kept = checked_pages(
            vec![
                page(
                    "/checkout?coupon=SECRET&email=a@b.c",
                    " Checkout ",
                    NOW - 10,
                ),
                page("/mugs#aurora", "Mugs", NOW - 20),
            ],
            NOW,
        )
        .unwrap();
        assert_eq!(
            kept,
            vec![
                page("/mugs", "Mugs", NOW - 20),
                page("/checkout", "Checkout", NOW - 10)
            ]
        );
    }

    #[test]
    fn bad_pages_are_refused() {
        let many: Vec<PageView> = (0..=MAX_PAGES as i64)
            .map(|i| page("/p", "", NOW - i))
            .collect();
        assert!(checked_pages(many[..MAX_PAGES].to_vec(), NOW).is_ok());
        for bad in [
            many,
            vec![page("https://evil.example/x", "", NOW)],
            vec![page("relative", "", NOW)],
            vec![page("/a b", "", NOW)],
            vec![page(&format!("/{}", "x".repeat(MAX_PATH_CHARS)), "", NOW)],
            vec![page("/x", &"t".repeat(MAX_TITLE_CHARS + 1), NOW)],
            vec![page("/x", "bell\u{7}", NOW)],
            vec![page("/x", "", NOW - 2 * OLDEST_MS)],
            vec![page("/x", "", NOW + 2 * SKEW_MS)],
        ] {
            assert!(
                matches!(
                    checked_pages(bad.clone(), NOW),
                    Err(DomainError::InvalidVisitorContext(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_same_context_again_changes_nothing() {
        let conversation = crate::rules::new_conversation(
            "acct",
            "alice",
            &crate::settings::Settings::default(),
            1,
        );
        let pages = vec![page("/", "Home", NOW)];
        let next = with_context(&conversation, pages.clone(), Client::default(), NOW).unwrap();
        assert_eq!(next.revision, conversation.revision + 1);
        assert!(with_context(&next, pages, Client::default(), NOW + 1).is_none());
    }
}
