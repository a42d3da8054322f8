//! Macros under `K#{acct}`, beside the knowledge base's articles: one item per macro
//! (`MACRO#{id}`), the book (`MACROS`: version, count, last audit hash) and the audit chain
//! (`MAUDIT#{version}`). `K#` partitions do not pass the fan-out's stream filter (`A#`).

use super::transactions::version_condition;
use super::*;
use domain::macros::{Macro, MacroBook, MAX_MACROS_PER_ACCOUNT};
use domain::settings::AuditEntry;

fn macros_pk(account_id: &str) -> String {
    format!("K#{account_id}")
}

const BOOK_SK: &str = "MACROS";

fn macro_key(account_id: &str, macro_id: &str) -> (String, String) {
    (macros_pk(account_id), format!("MACRO#{macro_id}"))
}

/// The audit chain's items: `MAUDIT#{version:012}`.
const AUDIT_PREFIX: &str = "MAUDIT#";

#[async_trait]
impl MacroStore for DynamoStore {
    async fn macro_book(&self, account_id: &str) -> Result<MacroBook, StoreError> {
        match self.get(macros_pk(account_id), BOOK_SK.into()).await? {
            Some(item) => decode(item),
            None => Ok(MacroBook::default()),
        }
    }

    async fn list_macros(&self, account_id: &str) -> Result<Vec<Macro>, StoreError> {
        let items = self
            .query_range(
                macros_pk(account_id),
                "MACRO#".into(),
                "MACRO#~",
                // Past the limit by what concurrent creations could add before the book
                // counted them (macros written before it); never cut at the limit itself.
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

    async fn change_macro(
        &self,
        book: &MacroBook,
        (before, after): (Option<&Macro>, Option<&Macro>),
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let account_id = &audit.account_id;
        let previous = book.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let (condition, value) = version_condition(previous);
        let book_item = encode(book, macros_pk(account_id), BOOK_SK.into())?;
        let mut items = vec![
            self.transact_put(book_item, condition, value)?,
            self.audit_entry_put(macros_pk(account_id), AUDIT_PREFIX, audit)?,
        ];
        match (before, after) {
            (_, Some(after)) => {
                let (pk, sk) = macro_key(account_id, &after.id);
                items.push(self.plain_put(encode(after, pk, sk)?)?);
            }
            (Some(before), None) => {
                items.push(self.plain_delete(macro_key(account_id, &before.id))?);
            }
            (None, None) => {}
        }
        self.transact(items).await
    }

    async fn list_macro_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries(macros_pk(account_id), AUDIT_PREFIX, after_version, limit)
            .await
    }
}
