//! Macros under `K#{acct}` (`MACRO#{id}`), beside the knowledge base's articles: the agents'
//! tools, which the fan-out's stream filter (`A#`) never passes.

use super::*;
use domain::macros::{Macro, MAX_MACROS_PER_ACCOUNT};

fn macro_key(account_id: &str, macro_id: &str) -> (String, String) {
    (format!("K#{account_id}"), format!("MACRO#{macro_id}"))
}

#[async_trait]
impl MacroStore for DynamoStore {
    async fn list_macros(&self, account_id: &str) -> Result<Vec<Macro>, StoreError> {
        let items = self
            .query_range(
                format!("K#{account_id}"),
                "MACRO#".into(),
                "MACRO#~",
                // Past the limit by the few that concurrent creations may have added.
                MAX_MACROS_PER_ACCOUNT * 2,
            )
            .await?;
        decode_all(items)
    }

    async fn get_macro(
        &self,
        account_id: &str,
        macro_id: &str,
    ) -> Result<Option<Macro>, StoreError> {
        let (pk, sk) = macro_key(account_id, macro_id);
        self.get(pk, sk).await?.map(decode).transpose()
    }

    async fn put_macro(&self, saved: &Macro) -> Result<(), StoreError> {
        let (pk, sk) = macro_key(&saved.account_id, &saved.id);
        let item = encode(saved, pk, sk)?;
        let previous = saved.revision.checked_sub(1).ok_or(StoreError::Conflict)?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        put = if previous == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("#r = :previous")
                .expression_attribute_names("#r", "revision")
                .expression_attribute_values(":previous", n(previous))
        };
        put.send().await.map_err(store_error)?;
        Ok(())
    }

    async fn delete_macro(&self, account_id: &str, macro_id: &str) -> Result<bool, StoreError> {
        self.delete_existing(macro_key(account_id, macro_id)).await
    }
}
