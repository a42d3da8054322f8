//! The knowledge base (#36): admins write articles (`/v1/articles`), everyone in the account
//! searches them (`GET /v1/articles/search`), end users and visitors only the published ones.
//!
//! Where the index lives: in each warm function, built from the account's articles and kept
//! while the base's version stands. Every search reads the base's record first (one consistent
//! read), so an article change is searchable at the next search after it, in any function
//! (docs/decisions.md, "Knowledge base search").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use thiserror::Error;

use crate::auth::Principal;
use crate::error::StoreError;
use crate::ports::KnowledgeStore;
use crate::settings_cache::AccountSettings;
use domain::ids::{is_valid_id, new_id};
use domain::knowledge::text::{snippet, terms};
use domain::knowledge::{
    Article, ArticleDraft, ArticleMatch, KnowledgeBase, SearchIndex, SearchQuery,
    MAX_ARTICLES_PER_ACCOUNT, MAX_QUERY_CHARS,
};
use domain::locale::Locale;
use domain::model::Role;
use domain::DomainError;

/// A change made while another admin's moved the base is tried again this often.
const MAX_CHANGE_ATTEMPTS: u32 = 5;
/// Accounts whose index a warm function keeps; beyond, it starts over.
const MAX_CACHED_ACCOUNTS: usize = 64;
const ARTICLE_ID_PREFIX: &str = "art";

#[derive(Debug, Error)]
pub enum KnowledgeError {
    #[error("only admins write articles")]
    NotAdmin,
    #[error("no such article")]
    NotFound,
    #[error("an account keeps at most {MAX_ARTICLES_PER_ACCOUNT} articles")]
    TooManyArticles,
    #[error("search words: 1 to {MAX_QUERY_CHARS} characters")]
    InvalidQuery,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn admin(principal: &Principal) -> Result<(), KnowledgeError> {
    match principal.role {
        Role::Admin => Ok(()),
        _ => Err(KnowledgeError::NotAdmin),
    }
}

/// `POST /v1/articles` (admins).
pub async fn create_article(
    store: &dyn KnowledgeStore,
    principal: &Principal,
    draft: ArticleDraft,
    now: i64,
) -> Result<Article, KnowledgeError> {
    admin(principal)?;
    draft.validate()?;
    let article = draft.into_article(&principal.account_id, &new_id(ARTICLE_ID_PREFIX), None, now);
    for _ in 0..MAX_CHANGE_ATTEMPTS {
        let base = store.knowledge_base(&principal.account_id).await?;
        if base.articles as usize >= MAX_ARTICLES_PER_ACCOUNT {
            return Err(KnowledgeError::TooManyArticles);
        }
        let next = base.after(None, Some(&article));
        match store
            .change_article(&principal.account_id, &next, None, Some(&article))
            .await
        {
            Ok(()) => {
                tracing::info!(account_id = %principal.account_id, article_id = %article.id, by = %principal.user_id, "article created");
                return Ok(article);
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The stored article `id`, as `principal` may see it: staff any, others published ones.
pub async fn article(
    store: &dyn KnowledgeStore,
    principal: &Principal,
    article_id: &str,
) -> Result<Article, KnowledgeError> {
    if !is_valid_id(ARTICLE_ID_PREFIX, article_id) {
        return Err(KnowledgeError::NotFound);
    }
    store
        .get_article(&principal.account_id, article_id)
        .await?
        .filter(|a| a.published || principal.role.is_staff())
        .ok_or(KnowledgeError::NotFound)
}

/// `GET /v1/articles` (staff): every article, by id.
pub async fn articles(
    store: &dyn KnowledgeStore,
    principal: &Principal,
) -> Result<Vec<Article>, KnowledgeError> {
    if !principal.role.is_staff() {
        return Err(KnowledgeError::NotAdmin);
    }
    Ok(store.list_articles(&principal.account_id).await?)
}

/// `PUT /v1/articles/{id}` (admins): the article as `draft` says, its next revision; `None`
/// draft: `DELETE`.
pub async fn change_article(
    store: &dyn KnowledgeStore,
    principal: &Principal,
    article_id: &str,
    draft: Option<ArticleDraft>,
    now: i64,
) -> Result<Option<Article>, KnowledgeError> {
    admin(principal)?;
    if let Some(draft) = &draft {
        draft.validate()?;
    }
    for _ in 0..MAX_CHANGE_ATTEMPTS {
        let base = store.knowledge_base(&principal.account_id).await?;
        let before = article(store, principal, article_id).await?;
        let after = draft
            .clone()
            .map(|d| d.into_article(&principal.account_id, article_id, Some(&before), now));
        let next = base.after(Some(&before), after.as_ref());
        match store
            .change_article(&principal.account_id, &next, Some(&before), after.as_ref())
            .await
        {
            Ok(()) => {
                let what = if after.is_some() {
                    "changed"
                } else {
                    "deleted"
                };
                tracing::info!(account_id = %principal.account_id, article_id = %article_id, by = %principal.user_id, what, "article changed");
                return Ok(after);
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// An account's index as this function built it, with the articles it was built from (their
/// bodies make the snippets).
struct Built {
    version: u64,
    index: SearchIndex,
    articles: HashMap<String, Article>,
}

/// The indexes a warm function keeps, per account.
#[derive(Default)]
pub struct KnowledgeIndexes {
    built: Mutex<HashMap<String, Arc<Built>>>,
}

impl KnowledgeIndexes {
    fn fresh(&self, account_id: &str, base: &KnowledgeBase) -> Option<Arc<Built>> {
        let built = self.built.lock().ok()?;
        built
            .get(account_id)
            .filter(|b| b.version == base.version)
            .cloned()
    }

    fn keep(&self, account_id: &str, built: Arc<Built>) {
        if let Ok(mut kept) = self.built.lock() {
            if kept.len() >= MAX_CACHED_ACCOUNTS && !kept.contains_key(account_id) {
                kept.clear();
            }
            kept.insert(account_id.to_string(), built);
        }
    }
}

/// `GET /v1/articles/search`: the best `limit` articles for `text`, in `locale`'s language
/// (both when `None`); published ones only for anyone but staff, and for staff who ask
/// (`published`: what they would send a customer); each with its help-centre URL when the
/// account has one (`help_center.base_url`).
pub async fn search(
    store: &dyn KnowledgeStore,
    (indexes, settings): (&KnowledgeIndexes, &(impl AccountSettings + ?Sized)),
    principal: &Principal,
    (text, locale, published): (&str, Option<Locale>, bool),
    limit: usize,
) -> Result<Vec<ArticleMatch>, KnowledgeError> {
    // Only an empty query is refused: one of spaces or punctuation has no words, and finds
    // nothing (what counts as a space differs between clients' regex dialects).
    if text.is_empty() || text.chars().count() > MAX_QUERY_CHARS {
        return Err(KnowledgeError::InvalidQuery);
    }
    let query = SearchQuery {
        text,
        locale,
        published_only: published || !principal.role.is_staff(),
        limit,
    };
    let (_, mut found) = find(store, indexes, &principal.account_id, &query).await?;
    let help_center = settings
        .account_settings(&principal.account_id)
        .await?
        .help_center;
    for found in &mut found {
        found.url = help_center.article_url(&found.id);
    }
    Ok(found)
}

/// The matches for `query` in `account`'s knowledge base, from this function's index while
/// the base's version stands (one consistent read of the base), else from a fresh one; with
/// the base as read.
pub async fn find(
    store: &dyn KnowledgeStore,
    indexes: &KnowledgeIndexes,
    account: &str,
    query: &SearchQuery<'_>,
) -> Result<(KnowledgeBase, Vec<ArticleMatch>), StoreError> {
    let base = store.knowledge_base(account).await?;
    let built = match indexes.fresh(account, &base) {
        Some(built) => built,
        None => {
            let articles = store.list_articles(account).await?;
            let built = Arc::new(Built {
                version: base.version,
                index: SearchIndex::of(&articles),
                articles: articles.into_iter().map(|a| (a.id.clone(), a)).collect(),
            });
            indexes.keep(account, built.clone());
            built
        }
    };
    let hits = built.index.search(query);
    // The query's terms once per language (a snippet marks them).
    let mut terms_in: HashMap<Locale, Vec<String>> = HashMap::new();
    let found = hits
        .into_iter()
        .map(|hit| {
            let body = built.articles.get(&hit.id).map_or("", |a| a.body.as_str());
            let wanted = terms_in
                .entry(hit.locale)
                .or_insert_with(|| terms(query.text, hit.locale));
            ArticleMatch {
                snippet: snippet(body, wanted, hit.locale),
                id: hit.id,
                title: hit.title,
                locale: hit.locale,
                score: (hit.score * 1000.0).round() / 1000.0,
                published: hit.published,
                url: None,
            }
        })
        .collect();
    Ok((base, found))
}
