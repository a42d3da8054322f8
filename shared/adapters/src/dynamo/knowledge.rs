//! The knowledge base under `K#{acct}`: the base's record (`BASE`) and one item per article
//! (`ART#{id}`). `K#` partitions do not pass the fan-out's stream filter (`A#`).

use super::transactions::version_condition;
use super::*;
use domain::knowledge::{Article, KnowledgeBase, MAX_ARTICLES_PER_ACCOUNT};

fn knowledge_pk(account_id: &str) -> String {
    format!("K#{account_id}")
}

const BASE_SK: &str = "BASE";

fn article_key(account_id: &str, article_id: &str) -> (String, String) {
    (knowledge_pk(account_id), format!("ART#{article_id}"))
}

#[async_trait]
impl KnowledgeStore for DynamoStore {
    async fn knowledge_base(&self, account_id: &str) -> Result<KnowledgeBase, StoreError> {
        match self.get(knowledge_pk(account_id), BASE_SK.into()).await? {
            Some(item) => decode(item),
            None => Ok(KnowledgeBase::default()),
        }
    }

    async fn get_article(
        &self,
        account_id: &str,
        article_id: &str,
    ) -> Result<Option<Article>, StoreError> {
        let (pk, sk) = article_key(account_id, article_id);
        self.get(pk, sk).await?.map(decode).transpose()
    }

    async fn list_articles(&self, account_id: &str) -> Result<Vec<Article>, StoreError> {
        let items = self
            .query_range(
                knowledge_pk(account_id),
                "ART#".into(),
                "ART#~",
                MAX_ARTICLES_PER_ACCOUNT,
            )
            .await?;
        decode_all(items)
    }

    async fn change_article(
        &self,
        account_id: &str,
        base: &KnowledgeBase,
        before: Option<&Article>,
        after: Option<&Article>,
    ) -> Result<(), StoreError> {
        let previous = base.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let (condition, value) = version_condition(previous);
        let base_item = encode(base, knowledge_pk(account_id), BASE_SK.into())?;
        let mut items = vec![self.transact_put(base_item, condition, value)?];
        match (before, after) {
            (_, Some(after)) => {
                let (pk, sk) = article_key(account_id, &after.id);
                items.push(self.plain_put(encode(after, pk, sk)?)?);
            }
            (Some(before), None) => {
                items.push(self.plain_delete(article_key(account_id, &before.id))?);
            }
            (None, None) => {}
        }
        self.transact(items).await
    }
}

impl DynamoStore {
    /// Writes `article` and the base's record `base` as plain puts, no transaction: for
    /// filling a table with articles in the bench (the emulator copies a whole table for each
    /// transaction), never for a change, which goes through `change_article`.
    pub async fn seed_article(
        &self,
        base: &KnowledgeBase,
        article: &Article,
    ) -> Result<(), StoreError> {
        let (pk, sk) = article_key(&article.account_id, &article.id);
        for item in [
            encode(article, pk, sk)?,
            encode(base, knowledge_pk(&article.account_id), BASE_SK.into())?,
        ] {
            self.put(item, None).await?;
        }
        Ok(())
    }
}
