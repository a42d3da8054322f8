//! Messages: idempotent, gap-free appends and history pages.

use super::*;

pub(super) fn idempotency_key(message: &Message) -> (String, String, String, String) {
    (
        message.account_id.clone(),
        message.conversation_id.clone(),
        message.author_id.clone(),
        message.client_message_id.clone(),
    )
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError> {
        // R32: what DynamoDB would refuse, refused here too.
        crate::dynamo::limits::check_value(message)?;
        let mut tables = self.lock()?;
        let conversation = key(&message.account_id, &message.conversation_id);
        let idem_key = idempotency_key(message);
        if let Some(seq) = tables.idempotency.get(&idem_key).copied() {
            let existing = tables
                .messages
                .get(&conversation)
                .and_then(|m| m.get(&seq))
                .cloned()
                .ok_or_else(|| StoreError::Internal("idempotency record without message".into()))?;
            return Ok(AppendOutcome::Existing(existing));
        }
        let last = tables
            .messages
            .get(&conversation)
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0);
        let mut stored = message.clone();
        stored.seq = last + 1;
        tables.insert_message(&stored);
        tables.idempotency.insert(idem_key, stored.seq);
        Ok(AppendOutcome::Created(stored))
    }

    async fn find_message(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let tables = self.lock()?;
        let idem_key = (
            account_id.to_string(),
            conversation_id.to_string(),
            author_id.to_string(),
            client_message_id.to_string(),
        );
        Ok(tables.idempotency.get(&idem_key).and_then(|seq| {
            tables
                .messages
                .get(&key(account_id, conversation_id))
                .and_then(|m| m.get(seq))
                .cloned()
        }))
    }

    async fn list_messages(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .messages
            .get(&key(account_id, conversation_id))
            .map(|m| {
                m.range(after_seq.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, msg)| msg.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn last_seq(&self, account_id: &str, conversation_id: &str) -> Result<u64, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .messages
            .get(&key(account_id, conversation_id))
            .and_then(|m| m.keys().next_back().copied())
            .unwrap_or(0))
    }

    async fn store_redaction(&self, tombstone: &Message) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let conversation = key(&tombstone.account_id, &tombstone.conversation_id);
        let Some(before) = tables
            .messages
            .get(&conversation)
            .and_then(|m| m.get(&tombstone.seq))
            .filter(|m| m.redacted.is_none())
            .cloned()
        else {
            return Ok(false);
        };
        tables
            .messages
            .entry(conversation)
            .or_default()
            .insert(tombstone.seq, tombstone.clone());
        tables.record_change(StoredChange {
            before: Some(Stored::Message(Box::new(before))),
            after: Some(Stored::Message(Box::new(tombstone.clone()))),
        });
        Ok(true)
    }
}
