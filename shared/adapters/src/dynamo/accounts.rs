//! Accounts and their signing keys.

use super::*;

/// Signing keys live in their own partition, under the secrets' prefix, so that IAM can keep
/// every function that neither verifies nor mints tokens away from them (`dynamodb:LeadingKeys`
/// cannot tell one sort key from another) and the fan-out's stream filter never passes them on.
fn signing_keys_pk(account_id: &str) -> String {
    format!("{SECRETS_PREFIX}KEYS#{account_id}")
}

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
            encode(
                key,
                signing_keys_pk(&key.account_id),
                format!("KEY#{}", key.kid),
            )?,
            None,
        )
        .await
    }

    async fn get_signing_key(
        &self,
        account_id: &str,
        kid: &str,
    ) -> Result<Option<SigningKey>, StoreError> {
        self.get(signing_keys_pk(account_id), format!("KEY#{kid}"))
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_signing_keys(&self, account_id: &str) -> Result<Vec<SigningKey>, StoreError> {
        decode_all(
            self.query_range(signing_keys_pk(account_id), "KEY#".into(), "KEY#~", 1_000)
                .await?,
        )
    }

    async fn delete_signing_key(&self, account_id: &str, kid: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(signing_keys_pk(account_id)))
            .key(SORT_KEY, s(format!("KEY#{kid}")))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn create_signing_key_if_absent(
        &self,
        key: &SigningKey,
    ) -> Result<SigningKey, StoreError> {
        let item = encode(
            key,
            signing_keys_pk(&key.account_id),
            format!("KEY#{}", key.kid),
        )?;
        match self.put(item, Some("attribute_not_exists(pk)")).await {
            Ok(()) => Ok(key.clone()),
            Err(StoreError::Conflict) => self
                .get_signing_key(&key.account_id, &key.kid)
                .await?
                .ok_or_else(|| StoreError::Internal("signing key vanished".into())),
            Err(other) => Err(other),
        }
    }

    async fn count_visitor_signup(
        &self,
        account_id: &str,
        source: &str,
        (window_start_ms, window_end_ms): (i64, i64),
    ) -> Result<u32, StoreError> {
        // One atomic counter per (source, window); TTL removes it a window after it closes.
        let expires_at = window_end_ms / 1000 + 60;
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(format!("A#{account_id}#VISITORS")))
            .key(SORT_KEY, s(format!("W#{window_start_ms:015}#{source}")))
            .update_expression("ADD signups :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(store_error)?;
        match output.attributes.as_ref().and_then(|a| a.get("signups")) {
            Some(AttributeValue::N(n)) => n
                .parse()
                .map_err(|_| StoreError::Internal("visitor counter is not a number".into())),
            _ => Err(StoreError::Internal("visitor counter missing".into())),
        }
    }

    async fn charge_quota(&self, charge: &domain::quotas::QuotaCharge) -> Result<bool, StoreError> {
        // One item per (caller, quota, window): ADD each counter, on the condition that none
        // holds more than its limit less this charge (absent counts as 0).
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                PARTITION_KEY,
                s(format!("A#{}#QUOTA#{}", charge.account_id, charge.subject)),
            )
            .key(
                SORT_KEY,
                s(format!("{}#{:015}", charge.quota, charge.window_start_ms)),
            )
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ttl", AttributeValue::N(charge.expires_at.to_string()));
        let (mut adds, mut conditions) = (Vec::new(), Vec::new());
        for (i, (name, amount, most)) in charge.counters.iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(
                    format!(":a{i}"),
                    AttributeValue::N(amount.to_string()),
                )
                .expression_attribute_values(format!(":m{i}"), AttributeValue::N(most.to_string()));
            adds.push(format!("#c{i} :a{i}"));
            conditions.push(format!("(attribute_not_exists(#c{i}) OR #c{i} <= :m{i})"));
        }
        let outcome = request
            .update_expression(format!("ADD {} SET #ttl = :ttl", adds.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await
            .map_err(store_error);
        match outcome {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
