//! The knowledge base (#36, spec "Macros, knowledge base, answer bot"): help-centre articles
//! and their search, BM25 over title and body with English and French stemming.
//!
//! `text` turns words into search terms (Snowball stemmers from `rust-stemmers`, accents
//! folded) and cuts snippets; `index` keeps the terms' postings and ranks articles for a
//! query. Where the index lives in a deployment is the API's concern (docs/decisions.md,
//! "Knowledge base").

pub mod index;
#[cfg(test)]
mod tests;
pub mod text;

use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::DomainError;

pub use index::{SearchHit, SearchIndex, SearchQuery};

/// Articles an account keeps at most (a help centre, not a document store).
pub const MAX_ARTICLES_PER_ACCOUNT: usize = 10_000;
pub const MAX_TITLE_CHARS: usize = 200;
/// 50,000 characters: at most 200 KB of UTF-8, half a DynamoDB item.
pub const MAX_BODY_CHARS: usize = 50_000;
pub const MAX_LABELS: usize = 20;
pub const MAX_LABEL_CHARS: usize = 50;
/// A search answers at most this many articles (`limit=`), 5 by default.
pub const MAX_SEARCH_RESULTS: usize = 20;
pub const DEFAULT_SEARCH_RESULTS: usize = 5;
/// A query longer than this is refused (400): nobody types a page into a search box.
pub const MAX_QUERY_CHARS: usize = 500;

/// A help-centre article: its body is markdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    #[serde(default)]
    pub account_id: String,
    pub id: String,
    pub title: String,
    pub body: String,
    pub locale: Locale,
    #[serde(default)]
    pub labels: Vec<String>,
    pub published: bool,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    /// 1 when created, one more each change.
    #[serde(default)]
    pub revision: u64,
}

/// One search result: an article, the prose around the words, and its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleMatch {
    pub id: String,
    pub title: String,
    pub locale: Locale,
    pub snippet: String,
    pub score: f64,
    /// Whether end users may read it (staff find drafts too).
    pub published: bool,
    /// Where the account's help centre shows it (`help_center.base_url`), if it has one.
    pub url: Option<String>,
}

/// What an admin writes (`POST /v1/articles`, `PUT /v1/articles/{article_id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleDraft {
    pub title: String,
    pub body: String,
    pub locale: Locale,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub published: bool,
}

impl ArticleDraft {
    /// The draft's faults, as one 422 `invalid_article`.
    pub fn validate(&self) -> Result<(), DomainError> {
        let invalid = |m: String| Err(DomainError::InvalidArticle(m));
        let title = self.title.trim();
        if title.is_empty() || self.title.chars().count() > MAX_TITLE_CHARS {
            return invalid(format!("title: 1 to {MAX_TITLE_CHARS} characters"));
        }
        if self.title.chars().any(char::is_control) {
            return invalid("title: no control characters".into());
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return invalid(format!("body: at most {MAX_BODY_CHARS} characters"));
        }
        let bad_label = |l: &String| {
            l.trim().is_empty()
                || l.chars().count() > MAX_LABEL_CHARS
                || l.chars().any(char::is_control)
        };
        if self.labels.len() > MAX_LABELS || self.labels.iter().any(bad_label) {
            return invalid(format!(
                "labels: at most {MAX_LABELS}, each 1 to {MAX_LABEL_CHARS} characters"
            ));
        }
        Ok(())
    }

    /// The article this draft makes: new (`previous` none) or the next revision of `previous`.
    pub fn into_article(
        self,
        account_id: &str,
        id: &str,
        previous: Option<&Article>,
        now: i64,
    ) -> Article {
        let mut labels = self.labels;
        labels.dedup();
        Article {
            account_id: account_id.into(),
            id: id.into(),
            title: self.title.trim().into(),
            body: self.body,
            locale: self.locale,
            labels,
            published: self.published,
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now,
            revision: previous.map_or(1, |p| p.revision + 1),
        }
    }
}

/// The account's knowledge base as a whole: its version moves with every article change (so
/// a warm function knows when its index is stale) and it counts the published articles (R11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBase {
    pub version: u64,
    pub articles: u32,
    pub published: u32,
}

impl KnowledgeBase {
    /// The base after `before` became `after` (`None`: absent).
    pub fn after(self, before: Option<&Article>, after: Option<&Article>) -> Self {
        let count = |a: Option<&Article>| u32::from(a.is_some());
        let published = |a: Option<&Article>| u32::from(a.is_some_and(|a| a.published));
        Self {
            version: self.version + 1,
            articles: (self.articles + count(after)).saturating_sub(count(before)),
            published: (self.published + published(after)).saturating_sub(published(before)),
        }
    }
}
