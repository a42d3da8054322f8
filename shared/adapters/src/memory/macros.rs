//! Macros (`domain::macros`): the macros, each account's book and its audit chain.

use super::*;
use domain::macros::{Macro, MacroBook};
use domain::settings::AuditEntry;

#[async_trait]
impl MacroStore for MemoryStore {
    async fn macro_book(&self, account_id: &str) -> Result<MacroBook, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .macro_books
            .get(account_id)
            .cloned()
            .unwrap_or_default())
    }

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

    async fn change_macro(
        &self,
        book: &MacroBook,
        (before, after): (Option<&Macro>, Option<&Macro>),
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let account_id = audit.account_id.clone();
        let stored = tables.macro_books.get(&account_id).map_or(0, |b| b.version);
        if book.version != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.macro_books.insert(account_id.clone(), book.clone());
        tables
            .macro_audit
            .insert((account_id.clone(), audit.version), audit.clone());
        match (before, after) {
            (_, Some(after)) => {
                let key = (account_id, after.id.clone());
                tables.macros.insert(key, after.clone());
            }
            (Some(before), None) => {
                tables.macros.remove(&(account_id, before.id.clone()));
            }
            (None, None) => {}
        }
        Ok(())
    }

    async fn list_macro_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .macro_audit
            .range((account_id.to_string(), after_version.saturating_add(1))..)
            .take_while(|((a, _), _)| a == account_id)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }
}
