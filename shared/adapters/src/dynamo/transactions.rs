//! The table's transactions: building their items, running them, and what a cancellation
//! means (a failed condition is a conflict; nothing was written).

use super::*;

/// The condition that the stored item's `version` is still `previous` (absent for 0), as
/// `transact_put` takes it.
pub(super) fn version_condition(
    previous: u64,
) -> (&'static str, Option<(&'static str, AttributeValue)>) {
    if previous == 0 {
        ("attribute_not_exists(pk)", None)
    } else {
        ("#v = :previous", Some((":previous", n(previous))))
    }
}

impl DynamoStore {
    /// Puts `item` alone, on condition the stored one is at `previous` (none for 0);
    /// `Conflict` otherwise.
    pub(super) async fn put_versioned(&self, item: Item, previous: u64) -> Result<(), StoreError> {
        super::limits::check_item(&item)?;
        let (condition, value) = version_condition(previous);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some((name, value)) = value {
            put = put
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(name, value);
        }
        put.send().await.map_err(super::store_error)?;
        Ok(())
    }

    pub(super) fn transact_put(
        &self,
        item: Item,
        condition: &str,
        values: Option<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some((name, value)) = values {
            put = put
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(name, value);
        }
        let put = put
            .build()
            .map_err(|e| StoreError::Internal(format!("transaction build: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl DynamoStore {
    /// Runs a transaction; any failed condition (or a concurrent transaction on the same items)
    /// is `Conflict`, and then nothing was written.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self.transact_items(items).await? {
            Transacted::Done => Ok(()),
            Transacted::Cancelled(_) | Transacted::Contended => Err(StoreError::Conflict),
        }
    }

    /// Runs a transaction and tells which conditions failed when it was cancelled.
    pub(super) async fn transact_items(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transacted, StoreError> {
        limits::check_transaction(&items)?;
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Transacted::Done),
            Err(error) => error,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        {
            let failed: Vec<bool> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect();
            return Ok(if failed.contains(&true) {
                Transacted::Cancelled(failed)
            } else {
                // Cancelled by a concurrent transaction on the same items, not by a condition.
                Transacted::Contended
            });
        }
        if error.code() == Some("TransactionConflictException") {
            return Ok(Transacted::Contended);
        }
        Err(store_error(error))
    }

    /// The conversation replaced on condition of the revision it was read at.
    pub(super) fn conversation_replace(
        &self,
        conversation: &Conversation,
    ) -> Result<TransactWriteItem, StoreError> {
        let expected = conversation
            .revision
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.conversation_item(conversation)?))
            .condition_expression("#rev = :expected")
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn plain_put(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn plain_delete(
        &self,
        (pk, sk): (String, String),
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// An update of the agent's load: `expression` over `#l` (the load), `#c` (the capacity)
    /// and `#st` (status), on `condition`.
    pub(super) fn agent_update(
        &self,
        account_id: &str,
        agent_id: &str,
        expression: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(account_pk(account_id)))
            .key(SORT_KEY, s(agent_sk(agent_id)))
            .update_expression(expression)
            .condition_expression(condition);
        for (name, attribute) in names {
            update = update.expression_attribute_names(*name, *attribute);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(build_error)?)
            .build())
    }
}
