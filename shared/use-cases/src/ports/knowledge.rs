//! The knowledge base's storage: an account's articles and the base's own record (its revision
//! and counts), changed together (`domain::knowledge`).

use async_trait::async_trait;

use crate::error::StoreError;
use domain::knowledge::{Article, KnowledgeBase};

#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// The account's base; version 0 and no articles when it has none yet.
    async fn knowledge_base(&self, account_id: &str) -> Result<KnowledgeBase, StoreError>;

    async fn get_article(
        &self,
        account_id: &str,
        article_id: &str,
    ) -> Result<Option<Article>, StoreError>;

    /// Every article of the account, by id (what an index is built from).
    async fn list_articles(&self, account_id: &str) -> Result<Vec<Article>, StoreError>;

    /// Stores `after` in place of `before` (a creation has no `before`, a deletion no `after`)
    /// and `base`, on condition that the stored base is still at `base.version - 1`: every
    /// change of the account's articles moves the base, so a stale `before` fails too
    /// (`Conflict`, and nothing is written).
    async fn change_article(
        &self,
        account_id: &str,
        base: &KnowledgeBase,
        before: Option<&Article>,
        after: Option<&Article>,
    ) -> Result<(), StoreError>;
}
