//! Conversations: create, read, optimistic replace, the owner and live-chat indexes.

use super::*;
use domain::retention::Purged;
use domain::sessions::CsatRequest;
use domain::workspace::{activity_key_at, ALL_VIEW_SHARDS};

/// Items deleted together by a purge (one query page, deleted concurrently).
const PURGE_PAGE: i32 = 50;

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
        self.query_index(LIVE_CHAT_INDEX, format!("A#{account_id}#LIVE"), true, limit)
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

    async fn set_expiry(
        &self,
        account_id: &str,
        conversation_id: &str,
        revision: u64,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                PARTITION_KEY,
                s(conversation_pk(account_id, conversation_id)),
            )
            .key(SORT_KEY, s("CONV"))
            .condition_expression("#rev = :rev")
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":rev", n(revision));
        let update = match expires_at {
            Some(at) => update
                .update_expression("SET #ttl = :ttl")
                .expression_attribute_values(":ttl", n(at)),
            None => update.update_expression("REMOVE #ttl"),
        };
        match update.send().await.map_err(store_error) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn purge_conversation(
        &self,
        account_id: &str,
        conversation_id: &str,
        max_items: usize,
    ) -> Result<Purged, StoreError> {
        // Satisfaction records first (they live outside the conversation's partition, and
        // only its requests say where their ratings are), then the partition itself.
        let requests: Vec<CsatRequest> = decode_all(
            self.query_range(
                format!("A#{account_id}#CSAT"),
                format!("C#{conversation_id}#"),
                &format!("C#{conversation_id}#~"),
                usize::MAX,
            )
            .await?,
        )?;
        let mut keys = Vec::new();
        for request in &requests {
            if let Some(rated_at) = request.rated_at {
                keys.push(super::sessions::rating_key(request, rated_at));
            }
            keys.push(super::sessions::csat_key(request));
        }
        let mut deleted = self.delete_all(keys).await?;
        let pk = conversation_pk(account_id, conversation_id);
        while deleted < max_items {
            // Deleted items leave the consistent read, so every page starts from the top.
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk.clone()))
                .projection_expression("pk, sk")
                .consistent_read(true)
                .limit(PURGE_PAGE.min((max_items - deleted) as i32))
                .send()
                .await
                .map_err(store_error)?;
            let keys: Vec<(String, String)> = page
                .items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|item| match (item.get(PARTITION_KEY), item.get(SORT_KEY)) {
                    (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                        Some((pk.clone(), sk.clone()))
                    }
                    _ => None,
                })
                .collect();
            if keys.is_empty() {
                return Ok(Purged {
                    deleted,
                    done: true,
                });
            }
            deleted += self.delete_all(keys).await?;
        }
        Ok(Purged {
            deleted,
            done: false,
        })
    }

    async fn touch_activity(
        &self,
        account_id: &str,
        conversation_id: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let key = activity_key_at(at, conversation_id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(conversation_pk(account_id, conversation_id)))
            .key(SORT_KEY, s("CONV"))
            // Both activity sort keys: `gsi3sk` only counts while `gsi3pk` is there.
            .update_expression(
                "SET last_message_at = :at, gsi3sk = :key, gsi4sk = :key, #rev = #rev + :one",
            )
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(last_message_at) OR last_message_at < :at)",
            )
            .expression_attribute_names("#rev", "revision")
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":key", s(key))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result.map_err(store_error) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn list_by_activity(
        &self,
        account_id: &str,
        view: ActivityView<'_>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let (index, partitions) = match view {
            ActivityView::AssignedTo(agent) => {
                (MINE_INDEX, vec![mine_partition(account_id, agent)])
            }
            ActivityView::All => (
                ALL_INDEX,
                (0..ALL_VIEW_SHARDS)
                    .map(|shard| all_partition(account_id, shard))
                    .collect(),
            ),
        };
        let pages = futures::future::try_join_all(
            partitions
                .into_iter()
                .map(|partition| self.query_index_after(index, partition, before, false, limit)),
        )
        .await?;
        let mut conversations: Vec<Conversation> =
            decode_all(pages.into_iter().flatten().collect())?;
        conversations.sort_by_key(|c| std::cmp::Reverse(activity_key(c)));
        conversations.truncate(limit);
        Ok(conversations)
    }
}
