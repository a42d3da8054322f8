//! Conversations: create, read, optimistic replace, the owner and live-chat indexes.

use super::*;

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        match self
            .put(
                self.conversation_item(conversation)?,
                Some("attribute_not_exists(pk)"),
            )
            .await
        {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other,
        }
    }

    async fn get_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        self.get(conversation_pk(account_id, conversation_id), "CONV".into())
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_conversations_for_user(
        &self,
        account_id: &str,
        owner_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        // Newest first.
        self.query_index(
            USER_INDEX,
            USER_INDEX_PARTITION_KEY,
            format!("A#{account_id}#U#{owner_id}"),
            false,
            limit,
        )
        .await
    }

    async fn list_active_live_chats(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.query_index(
            LIVE_CHAT_INDEX,
            LIVE_CHAT_INDEX_PARTITION_KEY,
            format!("A#{account_id}#LIVE"),
            true,
            limit,
        )
        .await
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let expected = conversation
            .revision
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.conversation_item(conversation)?))
            .condition_expression("#rev = :expected")
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
