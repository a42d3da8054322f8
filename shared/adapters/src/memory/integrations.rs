//! Integrations and their key hashes.

use super::*;

#[async_trait]
impl IntegrationStore for MemoryStore {
    async fn create_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        self.lock()?.integrations.insert(
            (integration.account_id.clone(), integration.id.clone()),
            integration.clone(),
        );
        Ok(())
    }

    async fn get_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<Option<Integration>, StoreError> {
        Ok(self
            .lock()?
            .integrations
            .get(&(account_id.to_string(), integration_id.to_string()))
            .cloned())
    }

    async fn list_integrations(&self, account_id: &str) -> Result<Vec<Integration>, StoreError> {
        let tables = self.lock()?;
        let mut found: Vec<Integration> = tables
            .integrations
            .values()
            .filter(|i| i.account_id == account_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn delete_integration(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .integrations
            .remove(&(account_id.to_string(), integration_id.to_string()))
            .is_some())
    }

    async fn record_integration_use(
        &self,
        account_id: &str,
        integration_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        if let Some(stored) = self
            .lock()?
            .integrations
            .get_mut(&(account_id.to_string(), integration_id.to_string()))
        {
            stored.last_used_at = Some(at);
        }
        Ok(())
    }
}
