//! The knowledge base: articles and the base's record (`domain::knowledge`).

use super::*;
use domain::knowledge::{Article, KnowledgeBase};

#[async_trait]
impl KnowledgeStore for MemoryStore {
    async fn knowledge_base(&self, account_id: &str) -> Result<KnowledgeBase, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .knowledge_bases
            .get(account_id)
            .copied()
            .unwrap_or_default())
    }

    async fn get_article(
        &self,
        account_id: &str,
        article_id: &str,
    ) -> Result<Option<Article>, StoreError> {
        let tables = self.lock()?;
        let key = (account_id.to_string(), article_id.to_string());
        Ok(tables.articles.get(&key).cloned())
    }

    async fn list_articles(&self, account_id: &str) -> Result<Vec<Article>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .articles
            .range((account_id.to_string(), String::new())..)
            .take_while(|((a, _), _)| a == account_id)
            .map(|(_, article)| article.clone())
            .collect())
    }

    async fn change_article(
        &self,
        account_id: &str,
        base: &KnowledgeBase,
        before: Option<&Article>,
        after: Option<&Article>,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let stored = tables
            .knowledge_bases
            .get(account_id)
            .map_or(0, |b| b.version);
        if base.version != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.knowledge_bases.insert(account_id.to_string(), *base);
        if let Some(before) = before {
            tables
                .articles
                .remove(&(account_id.to_string(), before.id.clone()));
        }
        if let Some(after) = after {
            tables
                .articles
                .insert((account_id.to_string(), after.id.clone()), after.clone());
        }
        Ok(())
    }
}
