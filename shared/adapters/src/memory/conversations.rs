//! Conversations: create, read, optimistic replace, per-owner and live-chat listings.

use super::*;
use crate::workspace::{activity_key, mine_view_owner};

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

    async fn touch_activity(
        &self,
        account_id: &str,
        conversation_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let Some(stored) = tables
            .conversations
            .get(&key(account_id, conversation_id))
            .filter(|c| c.last_message_at.is_none_or(|last| last < at))
        else {
            return Ok(());
        };
        let mut next = stored.clone();
        next.last_message_at = Some(at);
        next.revision += 1;
        tables.replace_conversation(&next);
        Ok(())
    }

    async fn list_by_activity(
        &self,
        account_id: &str,
        view: ActivityView<'_>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let tables = self.lock()?;
        let mut page: Vec<(String, Conversation)> = tables
            .conversations
            .values()
            .filter(|c| c.account_id == account_id)
            .filter(|c| match view {
                ActivityView::AssignedTo(agent) => mine_view_owner(c) == Some(agent),
                ActivityView::All => true,
            })
            .map(|c| (activity_key(c), c.clone()))
            .filter(|(key, _)| before.is_none_or(|before| key.as_str() < before))
            .collect();
        page.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(page.into_iter().take(limit).map(|(_, c)| c).collect())
    }
}
