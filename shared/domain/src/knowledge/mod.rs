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

pub use index::{SearchHit, SearchIndex, SearchQuery};

/// An article as search sees it: its body is markdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub body: String,
    pub locale: Locale,
    #[serde(default)]
    pub labels: Vec<String>,
    pub published: bool,
}
