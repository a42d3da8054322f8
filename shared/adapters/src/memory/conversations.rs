//! Conversations: create, read, optimistic replace, per-owner and live-chat listings.

use super::*;
use crate::dynamo::limits::check_value;
use domain::retention::Purged;
use domain::workspace::{activity_key, mine_view_owner};

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        // R32: what DynamoDB would refuse, refused here too.
        check_value(conversation)?;
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
        check_value(conversation)?;
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

    async fn set_expiry(
        &self,
        account_id: &str,
        conversation_id: &str,
        revision: u64,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let Some(stored) = tables
            .conversations
            .get(&key(account_id, conversation_id))
            .filter(|c| c.revision == revision)
        else {
            return Ok(false);
        };
        let mut next = stored.clone();
        next.expires_at = expires_at;
        tables.write_conversation_item(next);
        Ok(true)
    }

    async fn purge_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
        max_items: usize,
    ) -> Result<Purged, StoreError> {
        let mut tables = self.lock()?;
        let ours = |a: &str, c: &str| a == account_id && c == conversation_id;
        // Satisfaction records first, as in DynamoDB (a rated request is two items there).
        let mut deleted = 0;
        tables.csat.retain(|(a, c, _), request| {
            let purged = ours(a, c);
            if purged {
                deleted += 1 + usize::from(request.rated_at.is_some());
            }
            !purged
        });
        let conversation = key(account_id, conversation_id);
        if let Some(messages) = tables.messages.get_mut(&conversation) {
            while deleted < max_items && messages.pop_first().is_some() {
                deleted += 1;
            }
            if messages.is_empty() {
                tables.messages.remove(&conversation);
            }
        }
        let idempotency: Vec<_> = tables
            .idempotency
            .keys()
            .filter(|(a, c, _, _)| ours(a, c))
            .take(max_items.saturating_sub(deleted))
            .cloned()
            .collect();
        for k in idempotency {
            tables.idempotency.remove(&k);
            deleted += 1;
        }
        let attachments: Vec<_> = tables
            .attachments
            .keys()
            .filter(|(a, c, _)| ours(a, c))
            .take(max_items.saturating_sub(deleted))
            .cloned()
            .collect();
        for k in attachments {
            tables.attachments.remove(&k);
            deleted += 1;
        }
        let history: Vec<_> = tables
            .history
            .keys()
            .filter(|(a, c, _, _)| ours(a, c))
            .take(max_items.saturating_sub(deleted))
            .cloned()
            .collect();
        for k in history {
            tables.history.remove(&k);
            deleted += 1;
        }
        if deleted < max_items {
            if let Some(gone) = tables.conversations.remove(&conversation) {
                tables.record_change(StoredChange {
                    before: Some(Stored::Conversation(Box::new(gone))),
                    after: None,
                });
                deleted += 1;
            }
        }
        let done = !tables.conversations.contains_key(&conversation)
            && !tables.messages.contains_key(&conversation)
            && !tables.idempotency.keys().any(|(a, c, _, _)| ours(a, c))
            && !tables.attachments.keys().any(|(a, c, _)| ours(a, c))
            && !tables.history.keys().any(|(a, c, _, _)| ours(a, c));
        Ok(Purged { deleted, done })
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

impl MemoryStore {
    /// What DynamoDB's TTL does to the table in the background: removes the conversations whose
    /// `expires_at` has passed at `now` (epoch ms), each reported on the change feed as a
    /// removal. Answers how many went. The feed's reader runs it (`next_changes`).
    pub fn expire_conversations(&self, now: i64) -> Result<usize, StoreError> {
        let mut tables = self.lock()?;
        tables.last_expiry_sweep = now;
        let expired: Vec<ConversationKey> = tables
            .conversations
            .iter()
            .filter(|(_, c)| c.expires_at.is_some_and(|at| at <= now / 1000))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            if let Some(gone) = tables.conversations.remove(k) {
                tables.record_change(StoredChange {
                    before: Some(Stored::Conversation(Box::new(gone))),
                    after: None,
                });
            }
        }
        Ok(expired.len())
    }

    /// [`Self::expire_conversations`] at the current time, when a second has passed since the
    /// last sweep.
    pub(super) fn expire_conversations_now(&self) -> Result<(), StoreError> {
        let now = domain::now_ms();
        if now - self.lock()?.last_expiry_sweep >= 1_000 {
            self.expire_conversations(now)?;
        }
        Ok(())
    }
}
