//! Macros (`domain::macros`).

use super::*;
use domain::macros::Macro;

#[async_trait]
impl MacroStore for MemoryStore {
    async fn list_macros(&self, account_id: &str) -> Result<Vec<Macro>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .macros
            .range((account_id.to_string(), String::new())..)
            .take_while(|((a, _), _)| a == account_id)
            .map(|(_, m)| m.clone())
            .collect())
    }

    async fn get_macro(
        &self,
        account_id: &str,
        macro_id: &str,
    ) -> Result<Option<Macro>, StoreError> {
        let tables = self.lock()?;
        let key = (account_id.to_string(), macro_id.to_string());
        Ok(tables.macros.get(&key).cloned())
    }

    async fn put_macro(&self, saved: &Macro) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let key = (saved.account_id.clone(), saved.id.clone());
        let stored = tables.macros.get(&key).map_or(0, |m| m.revision);
        if saved.revision != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.macros.insert(key, saved.clone());
        Ok(())
    }

    async fn delete_macro(&self, account_id: &str, macro_id: &str) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let key = (account_id.to_string(), macro_id.to_string());
        Ok(tables.macros.remove(&key).is_some())
    }
}
