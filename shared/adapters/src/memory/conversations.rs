//! Conversations: create, read, optimistic replace, per-owner and live-chat listings.

use super::*;

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let k = key(&conversation.account_id, &conversation.id);
        if tables.conversations.contains_key(&k) {
            return Err(StoreError::AlreadyExists);
        }
        tables.conversations.insert(k, conversation.clone());
        tables.record_change(StoredChange {
            before: None,
            after: Some(Stored::Conversation(Box::new(conversation.clone()))),
        });
        Ok(())
    }

    async fn get_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .lock()?
            .conversations
            .get(&key(account_id, conversation_id))
            .cloned())
    }

    async fn list_conversations_for_user(
        &self,
        account_id: &str,
        owner_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let tables = self.lock()?;
        let mut mine: Vec<Conversation> = tables
            .conversations
            .values()
            .filter(|c| c.account_id == account_id && c.owner_id == owner_id)
            .cloned()
            .collect();
        // Same order as the DynamoDB index: created_at, then id, descending.
        mine.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        mine.truncate(limit);
        Ok(mine)
    }

    async fn list_active_live_chats(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let tables = self.lock()?;
        let mut live: Vec<Conversation> = tables
            .conversations
            .values()
            .filter(|c| c.account_id == account_id && is_active_live_chat(c))
            .cloned()
            .collect();
        live.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        live.truncate(limit);
        Ok(live)
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        tables.replace_conversation(conversation);
        Ok(())
    }
}
