//! Macros' storage (`domain::macros`): shared and personal macros per account, their book
//! (version, count) and the audit chain of their changes.

use async_trait::async_trait;

use crate::error::StoreError;
use domain::macros::{Macro, MacroBook};
use domain::settings::AuditEntry;

#[async_trait]
pub trait MacroStore: Send + Sync {
    /// The account's book of macros (the default before any change).
    async fn macro_book(&self, account_id: &str) -> Result<MacroBook, StoreError>;

    /// Every macro of the account, shared and personal, by id.
    async fn list_macros(&self, account_id: &str) -> Result<Vec<Macro>, StoreError>;

    async fn get_macro(
        &self,
        account_id: &str,
        macro_id: &str,
    ) -> Result<Option<Macro>, StoreError>;

    /// One change in one atomic step: the book becomes `book` on condition the stored one is
    /// at `book.version - 1`, `after` is stored (or `before` deleted when `after` is `None`),
    /// and `audit` is appended. `Conflict` when another change moved the book; nothing is
    /// written then.
    async fn change_macro(
        &self,
        book: &MacroBook,
        (before, after): (Option<&Macro>, Option<&Macro>),
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// The audit entries of macro changes with `version > after_version`, oldest first, at
    /// most `limit`.
    async fn list_macro_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
