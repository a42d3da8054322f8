//! Accounts and their signing keys.

use super::*;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.lock()?
            .accounts
            .insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.lock()?.accounts.get(account_id).cloned())
    }

    async fn put_signing_key(&self, signing_key: &SigningKey) -> Result<(), StoreError> {
        self.lock()?.keys.insert(
            (signing_key.account_id.clone(), signing_key.kid.clone()),
            signing_key.clone(),
        );
        Ok(())
    }

    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        Ok(self
            .lock()?
            .keys
            .get(&(account_id.to_string(), kid.to_string()))
            .cloned())
    }
}
