//! The ticket's history of field changes.

use super::*;

#[async_trait]
impl HistoryStore for MemoryStore {
    async fn record_history(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        for entry in entries {
            tables.history.insert(
                (
                    entry.account_id.clone(),
                    entry.conversation_id.clone(),
                    entry.revision,
                    entry.field.clone(),
                ),
                entry.clone(),
            );
        }
        Ok(())
    }

    async fn list_history(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_revision: u64,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let tables = self.lock()?;
        let Some(first) = after_revision.checked_add(1) else {
            return Ok(Vec::new());
        };
        let from = (
            account_id.to_string(),
            conversation_id.to_string(),
            first,
            String::new(),
        );
        Ok(tables
            .history
            .range(from..)
            .take_while(|((a, c, _, _), _)| a == account_id && c == conversation_id)
            .take(limit)
            .map(|(_, entry)| entry.clone())
            .collect())
    }
}
