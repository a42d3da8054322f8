//! Integrations and their key hashes: `A#{acct}` / `INTEG#{id}`, beside the account's
//! signing keys, so listing them is one query of the account's partition.

use super::*;

fn integration_key(account_id: &str, integration_id: &str) -> (String, String) {
    (account_pk(account_id), format!("INTEG#{integration_id}"))
}

#[async_trait]
impl IntegrationStore for DynamoStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let (pk, sk) = integration_key(&integration.account_id, &integration.id);
        self.put(
            encode(integration, pk, sk)?,
            Some("attribute_not_exists(pk)"),
        )
        .await
    }

    async fn get_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let (pk, sk) = integration_key(account_id, integration_id);
        self.get(pk, sk).await?.map(decode).transpose()
    }

    async fn list_integrations(&self, account_id: &str) -> Result<Vec<Integration>, StoreError> {
        let mut found: Vec<Integration> = self
            .account_items(account_id, "INTEG#", MAX_INTEGRATIONS_PER_ACCOUNT)
            .await?;
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn delete_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<bool, StoreError> {
        self.delete_existing(integration_key(account_id, integration_id))
            .await
    }

    async fn record_integration_use(
        &self,
        account_id: &str,
        integration_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = integration_key(account_id, integration_id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression("SET last_used_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at))
            .send()
            .await
            .map_err(store_error);
        match result {
            // Revoked meanwhile: nothing to write down.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }
}
