//! The ticket's history of field changes: one item per (revision, field) under the conversation.

use super::*;

fn history_sk(revision: u64, field: &str) -> String {
    format!("H#{revision:012}#{field}")
}

#[async_trait]
impl HistoryStore for DynamoStore {
    async fn record_history(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        // Keyed by (revision, field): the stream's redelivery writes the same item again.
        futures::future::try_join_all(entries.iter().map(|entry| {
            let pk = conversation_pk(&entry.account_id, &entry.conversation_id);
            let sk = history_sk(entry.revision, &entry.field);
            async move { self.put(encode(entry, pk, sk)?, None).await }
        }))
        .await
        .map(|_| ())
    }

    async fn list_history(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_revision: u64,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let Some(first) = first_after(after_revision) else {
            return Ok(Vec::new());
        };
        decode_all(
            self.query_range(
                conversation_pk(account_id, conversation_id),
                format!("H#{first:012}#"),
                "H#~",
                limit,
            )
            .await?,
        )
    }
}
