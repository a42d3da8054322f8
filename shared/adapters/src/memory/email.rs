//! Email continuation (R35): account secrets, reply grants and the dropped inbound mail.

use super::*;
use domain::email::outbound::{normalized_address, EmailThread};
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

    async fn email_thread(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<EmailThread, StoreError> {
        let key = (account_id.to_string(), conversation_id.to_string());
        Ok(self
            .lock()?
            .email_threads
            .get(&key)
            .cloned()
            .unwrap_or_else(|| EmailThread {
                account_id: account_id.into(),
                conversation_id: conversation_id.into(),
                ..EmailThread::default()
            }))
    }

    async fn put_email_thread(&self, thread: &EmailThread) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let key = (thread.account_id.clone(), thread.conversation_id.clone());
        let stored = tables.email_threads.get(&key).map_or(0, |t| t.version);
        if thread.version != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.email_threads.insert(key, thread.clone());
        Ok(())
    }

    async fn suppress_address(
        &self,
        address: &str,
        reason: &str,
        _at: i64,
    ) -> Result<(), StoreError> {
        self.lock()?
            .suppressed_addresses
            .insert(normalized_address(address), reason.to_string());
        Ok(())
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .suppressed_addresses
            .contains_key(&normalized_address(address)))
    }
}
