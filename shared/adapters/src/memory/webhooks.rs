//! Webhook subscriptions and their delivery log.

use super::*;

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create_subscription(
        &self,
        subscription: &Subscription,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError> {
        let key = (subscription.account_id.clone(), subscription.id.clone());
        let mut tables = self.lock()?;
        tables.webhook_secrets.insert(key.clone(), secret.clone());
        tables.subscriptions.insert(key, subscription.clone());
        Ok(())
    }

    async fn subscription_secret(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<WebhookSecret>, StoreError> {
        Ok(self
            .lock()?
            .webhook_secrets
            .get(&(account_id.to_string(), subscription_id.to_string()))
            .cloned())
    }

    async fn get_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        Ok(self
            .lock()?
            .subscriptions
            .get(&(account_id.to_string(), subscription_id.to_string()))
            .cloned())
    }

    async fn list_subscriptions(&self, account_id: &str) -> Result<Vec<Subscription>, StoreError> {
        let tables = self.lock()?;
        let mut found: Vec<Subscription> = tables
            .subscriptions
            .values()
            .filter(|s| s.account_id == account_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn delete_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<bool, StoreError> {
        let key = (account_id.to_string(), subscription_id.to_string());
        let mut tables = self.lock()?;
        tables.webhook_secrets.remove(&key);
        Ok(tables.subscriptions.remove(&key).is_some())
    }

    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        self.lock()?.delivery_log.insert(
            (
                attempt.account_id.clone(),
                attempt.subscription_id.clone(),
                attempt.at,
                attempt.event_id.clone(),
                attempt.attempt,
            ),
            attempt.clone(),
        );
        Ok(())
    }

    async fn list_attempts(
        &self,
        account_id: &str,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .delivery_log
            .iter()
            .rev()
            .filter(|((a, s, ..), _)| a == account_id && s == subscription_id)
            .take(limit)
            .map(|(_, attempt)| attempt.clone())
            .collect())
    }

    async fn record_outcome(
        &self,
        account_id: &str,
        subscription_id: &str,
        delivered: bool,
        disable_after: u32,
        now: i64,
    ) -> Result<Option<Subscription>, StoreError> {
        let mut tables = self.lock()?;
        let Some(stored) = tables
            .subscriptions
            .get_mut(&(account_id.to_string(), subscription_id.to_string()))
        else {
            return Ok(None);
        };
        if delivered {
            stored.consecutive_failures = 0;
            stored.failed_attempts = 0;
        } else {
            stored.consecutive_failures += 1;
            if stored.consecutive_failures >= disable_after && stored.disabled_at.is_none() {
                stored.disabled_at = Some(now);
            }
        }
        Ok(Some(stored.clone()))
    }

    async fn record_failed_attempt(
        &self,
        account_id: &str,
        subscription_id: &str,
        pause_after: u32,
        pause_until: i64,
    ) -> Result<Option<Subscription>, StoreError> {
        let mut tables = self.lock()?;
        let Some(stored) = tables
            .subscriptions
            .get_mut(&(account_id.to_string(), subscription_id.to_string()))
        else {
            return Ok(None);
        };
        stored.failed_attempts += 1;
        if stored.failed_attempts >= pause_after {
            stored.failed_attempts = 0;
            stored.paused_until = Some(pause_until);
        }
        Ok(Some(stored.clone()))
    }
}
