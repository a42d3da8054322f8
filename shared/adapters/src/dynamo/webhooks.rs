//! Webhook subscriptions (`A#{acct}` / `WEBHOOK#{id}`, beside the account's integrations) and
//! their delivery log (`A#{acct}#WH#{id}`, newest last, expiring after 30 days).

use super::*;

fn subscription_key(account_id: &str, subscription_id: &str) -> (String, String) {
    (account_pk(account_id), format!("WEBHOOK#{subscription_id}"))
}

/// Where a subscription's secret lives: under the secrets' prefix, which the template lets only
/// the integrations function (writes it) and deliver-webhook (signs with it) reach.
fn secret_key(account_id: &str, subscription_id: &str) -> (String, String) {
    (
        format!("{SECRETS_PREFIX}HOOKS#{account_id}"),
        format!("WEBHOOK#{subscription_id}"),
    )
}

fn log_partition(account_id: &str, subscription_id: &str) -> String {
    format!("A#{account_id}#WH#{subscription_id}")
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn create_subscription(
        &self,
        subscription: &Subscription,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError> {
        // The secret first: a subscription is never stored without one (a secret left alone by
        // a crash in between is never read).
        let (pk, sk) = secret_key(&subscription.account_id, &subscription.id);
        let mut item = Item::new();
        item.insert(PARTITION_KEY.into(), s(pk));
        item.insert(SORT_KEY.into(), s(sk));
        item.insert("secret".into(), s(secret.0.clone()));
        self.put(item, Some("attribute_not_exists(pk)")).await?;
        let (pk, sk) = subscription_key(&subscription.account_id, &subscription.id);
        self.put(
            encode(subscription, pk, sk)?,
            Some("attribute_not_exists(pk)"),
        )
        .await
    }

    async fn subscription_secret(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<WebhookSecret>, StoreError> {
        let (pk, sk) = secret_key(account_id, subscription_id);
        Ok(self
            .get(pk, sk)
            .await?
            .and_then(|item| match item.get("secret") {
                Some(AttributeValue::S(secret)) => Some(WebhookSecret(secret.clone())),
                _ => None,
            }))
    }

    async fn get_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let (pk, sk) = subscription_key(account_id, subscription_id);
        self.get(pk, sk).await?.map(decode).transpose()
    }

    async fn list_subscriptions(&self, account_id: &str) -> Result<Vec<Subscription>, StoreError> {
        let mut found: Vec<Subscription> = self
            .account_items(account_id, "WEBHOOK#", MAX_SUBSCRIPTIONS_PER_ACCOUNT)
            .await?;
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn delete_subscription(
        &self,
        account_id: &str,
        subscription_id: &str,
    ) -> Result<bool, StoreError> {
        let existed = self
            .delete_existing(subscription_key(account_id, subscription_id))
            .await?;
        self.delete(secret_key(account_id, subscription_id)).await?;
        Ok(existed)
    }

    async fn record_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        let mut item = encode(
            attempt,
            log_partition(&attempt.account_id, &attempt.subscription_id),
            format!(
                "D#{:015}#{}#{:02}",
                attempt.at.max(0),
                attempt.event_id,
                attempt.attempt
            ),
        )?;
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(attempt.at / 1000 + DELIVERY_LOG_RETENTION_SECS),
        );
        self.put(item, None).await
    }

    async fn list_attempts(
        &self,
        account_id: &str,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(log_partition(account_id, subscription_id)))
            .expression_attribute_values(":prefix", s("D#"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        decode_all(output.items.unwrap_or_default())
    }

    async fn record_failed_attempt(
        &self,
        account_id: &str,
        subscription_id: &str,
        pause_after: u32,
        pause_until: i64,
    ) -> Result<Option<Subscription>, StoreError> {
        let (pk, sk) = subscription_key(account_id, subscription_id);
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk.clone()))
            .key(SORT_KEY, s(sk.clone()))
            .condition_expression("attribute_exists(pk)")
            .update_expression("ADD failed_attempts :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(store_error);
        let counted = match counted {
            Ok(output) => output.attributes.unwrap_or_default(),
            // Deleted meanwhile.
            Err(StoreError::Conflict) => return Ok(None),
            Err(other) => return Err(other),
        };
        let subscription: Subscription = decode(counted)?;
        if subscription.failed_attempts < pause_after {
            return Ok(Some(subscription));
        }
        // The run reached the pause: only the attempt that reached it starts the pause.
        let paused = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .condition_expression("attribute_exists(pk) AND failed_attempts >= :after")
            .update_expression("SET failed_attempts = :zero, paused_until = :until")
            .expression_attribute_values(":after", n(pause_after))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":until", n(pause_until))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(store_error);
        match paused {
            Ok(output) => Ok(Some(decode(output.attributes.unwrap_or_default())?)),
            // Another attempt paused it first, or it was deleted.
            Err(StoreError::Conflict) => Ok(Some(subscription)),
            Err(other) => Err(other),
        }
    }

    async fn record_outcome(
        &self,
        account_id: &str,
        subscription_id: &str,
        delivered: bool,
        disable_after: u32,
        now: i64,
    ) -> Result<Option<Subscription>, StoreError> {
        let (pk, sk) = subscription_key(account_id, subscription_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk.clone()))
            .key(SORT_KEY, s(sk.clone()))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        let update = if delivered {
            update
                .update_expression("SET consecutive_failures = :zero, failed_attempts = :zero")
                .expression_attribute_values(":zero", n(0))
        } else {
            update
                .update_expression("ADD consecutive_failures :one")
                .expression_attribute_values(":one", n(1))
        };
        let updated = match update.send().await.map_err(store_error) {
            Ok(output) => output.attributes.unwrap_or_default(),
            // Deleted meanwhile.
            Err(StoreError::Conflict) => return Ok(None),
            Err(other) => return Err(other),
        };
        let mut subscription: Subscription = decode(updated)?;
        if !delivered
            && subscription.consecutive_failures >= disable_after
            && subscription.disabled_at.is_none()
        {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PARTITION_KEY, s(pk))
                .key(SORT_KEY, s(sk))
                .update_expression("SET disabled_at = :now")
                // A subscription never disabled holds `disabled_at` as NULL.
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(disabled_at) OR attribute_type(disabled_at, :null))",
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":null", s("NULL"))
                .send()
                .await
                .map_err(store_error);
            match result {
                Ok(_) => subscription.disabled_at = Some(now),
                // Disabled by a concurrent outcome, or deleted.
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(Some(subscription))
    }
}
