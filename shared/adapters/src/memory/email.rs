//! Email continuation (R35): account secrets, reply grants and the dropped inbound mail.

use super::*;
use domain::email::reply_token::ReplyGrant;
use use_cases::ports::{EmailFailure, EmailStore};

#[async_trait]
impl EmailStore for MemoryStore {
    async fn email_secret(&self, account_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.email_secrets.get(account_id).cloned())
    }

    async fn create_email_secret(
        &self,
        account_id: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut tables = self.lock()?;
        Ok(tables
            .email_secrets
            .entry(account_id.to_string())
            .or_insert_with(|| candidate.to_vec())
            .clone())
    }

    async fn put_reply_grant(&self, grant: &ReplyGrant) -> Result<(), StoreError> {
        self.lock()?
            .reply_grants
            .insert(grant.token_id.clone(), grant.clone());
        Ok(())
    }

    async fn reply_grant(&self, token_id: &str) -> Result<Option<ReplyGrant>, StoreError> {
        Ok(self.lock()?.reply_grants.get(token_id).cloned())
    }

    async fn record_email_failure(&self, failure: &EmailFailure) -> Result<(), StoreError> {
        self.lock()?.email_failures.push(failure.clone());
        Ok(())
    }

    async fn email_failures(&self, limit: usize) -> Result<Vec<EmailFailure>, StoreError> {
        let tables = self.lock()?;
        let mut newest_first = tables.email_failures.clone();
        newest_first.sort_by_key(|f| std::cmp::Reverse(f.failed_at));
        newest_first.truncate(limit);
        Ok(newest_first)
    }
}
