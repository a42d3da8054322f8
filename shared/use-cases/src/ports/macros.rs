//! Macros' storage (`domain::macros`): shared and personal macros per account.

use async_trait::async_trait;

use crate::error::StoreError;
use domain::macros::Macro;

#[async_trait]
pub trait MacroStore: Send + Sync {
    /// Every macro of the account, shared and personal, by id.
    async fn list_macros(&self, account_id: &str) -> Result<Vec<Macro>, StoreError>;

    async fn get_macro(
        &self,
        account_id: &str,
        macro_id: &str,
    ) -> Result<Option<Macro>, StoreError>;

    /// Stores `saved`: a new macro (revision 1) on condition that none has its id, a change on
    /// condition that the stored one is at `revision - 1` (`Conflict` otherwise, and nothing
    /// is written).
    async fn put_macro(&self, saved: &Macro) -> Result<(), StoreError>;

    /// Deletes macro `macro_id`; whether it was there.
    async fn delete_macro(&self, account_id: &str, macro_id: &str) -> Result<bool, StoreError>;
}
