//! Accounts and their signing keys.

use super::*;

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_account(&self, account: &Account) -> Result<(), StoreError> {
        self.put(
            encode(account, account_pk(&account.id), "ACCOUNT".into())?,
            None,
        )
        .await
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        self.get(account_pk(account_id), "ACCOUNT".into())
            .await?
            .map(decode)
            .transpose()
    }

    async fn put_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        self.put(
            encode(key, account_pk(&key.account_id), format!("KEY#{}", key.kid))?,
            None,
        )
        .await
    }

    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        self.get(account_pk(account_id), format!("KEY#{kid}"))
            .await?
            .map(decode)
            .transpose()
    }
}
