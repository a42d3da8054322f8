//! The knowledge base's articles and search results (`/v1/articles`).

use serde_json::{json, Value};

use crate::knowledge::{Article, ArticleMatch};
use crate::rfc3339;

/// An article whole, as its writers and readers get it.
pub fn article_view(a: &Article) -> Value {
    let mut view = article_summary(a);
    view["body"] = json!(a.body);
    view
}

/// An article without its body (lists).
fn article_summary(a: &Article) -> Value {
    json!({
        "id": a.id,
        "title": a.title,
        "locale": a.locale,
        "labels": a.labels,
        "published": a.published,
        "revision": a.revision,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
    })
}

/// `GET /v1/articles`: every article's summary.
pub fn articles_view(articles: &[Article]) -> Value {
    json!({ "articles": articles.iter().map(article_summary).collect::<Vec<_>>() })
}

/// `GET /v1/articles/search`: the matches, best first.
pub fn article_matches_view(matches: &[ArticleMatch]) -> Value {
    let found: Vec<Value> = matches
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "title": m.title,
                "locale": m.locale,
                "snippet": m.snippet,
                "score": m.score,
                "published": m.published,
                "url": m.url,
            })
        })
        .collect();
    json!({ "articles": found })
}
