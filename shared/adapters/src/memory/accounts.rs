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

    async fn list_signing_keys(&self, account_id: &str) -> Result<Vec<SigningKey>, StoreError> {
        let tables = self.lock()?;
        let mut keys: Vec<SigningKey> = tables
            .keys
            .values()
            .filter(|k| k.account_id == account_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Ok(keys)
    }

    async fn delete_signing_key(&self, account_id: &str, kid: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .keys
            .remove(&(account_id.to_string(), kid.to_string()))
            .is_some())
    }

    async fn create_signing_key_if_absent(
        &self,
        signing_key: &SigningKey,
    ) -> Result<SigningKey, StoreError> {
        Ok(self
            .lock()?
            .keys
            .entry((signing_key.account_id.clone(), signing_key.kid.clone()))
            .or_insert_with(|| signing_key.clone())
            .clone())
    }

    async fn count_visitor_signup(
        &self,
        account_id: &str,
        source: &str,
        (window_start_ms, _window_end_ms): (i64, i64),
    ) -> Result<u32, StoreError> {
        let mut tables = self.lock()?;
        // What DynamoDB's TTL does for the table: windows that ended are gone.
        tables
            .visitor_signups
            .retain(|(_, _, window), _| *window >= window_start_ms);
        let count = tables
            .visitor_signups
            .entry((account_id.into(), source.into(), window_start_ms))
            .or_default();
        *count += 1;
        Ok(*count)
    }

    async fn charge_quota(&self, charge: &domain::quotas::QuotaCharge) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let now_secs = domain::now_ms() / 1000;
        // What DynamoDB's TTL does: counters of windows long gone are gone.
        tables
            .quotas
            .retain(|(_, _, _, start), _| *start / 1000 + 2 * 86_400 > now_secs);
        let counters = tables
            .quotas
            .entry((
                charge.account_id.clone(),
                charge.subject.clone(),
                charge.quota,
                charge.window_start_ms,
            ))
            .or_default();
        let fits = charge
            .counters
            .iter()
            .all(|(name, _, most)| counters.get(name).copied().unwrap_or(0) <= *most);
        if fits {
            for (name, amount, _) in &charge.counters {
                *counters.entry(name).or_default() += amount;
            }
        }
        Ok(fits)
    }
}
