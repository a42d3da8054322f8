//! Messages: the two-put append (idempotency claim, then the slot), history pages, the last seq.

use super::*;

impl DynamoStore {
    /// A message's idempotency record (claiming its seq) and its slot `M#{seq}`.
    pub(super) fn message_items(&self, message: &Message) -> Result<(Item, Item), StoreError> {
        let (pk, sk) = claim_key(message);
        let expires_at = domain::now_ms() / 1000 + IDEMPOTENCY_RETENTION_SECS;
        let idempotency: Item = HashMap::from([
            (PARTITION_KEY.into(), s(pk.clone())),
            (SORT_KEY.into(), s(sk)),
            ("seq".into(), AttributeValue::N(message.seq.to_string())),
            (
                TTL_ATTRIBUTE.into(),
                AttributeValue::N(expires_at.to_string()),
            ),
        ]);
        let message_item = encode(message, pk, message_sk(message.seq))?;
        Ok((idempotency, message_item))
    }

    /// Puts `item` on condition that its key is free; a taken key comes back with the item
    /// there (returned with the failure by DynamoDB, read when an emulator leaves it out).
    pub(super) async fn put_if_absent(&self, item: Item) -> Result<PutIfAbsent, StoreError> {
        let key = (
            item.get(PARTITION_KEY).cloned(),
            item.get(SORT_KEY).cloned(),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(PutIfAbsent::Stored),
            Err(error) => error,
        };
        let returned = match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item.clone(),
            _ => return Err(store_error(error)),
        };
        let occupant = match (returned, key) {
            (Some(item), _) if !item.is_empty() => Some(item),
            (_, (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk)))) => {
                self.get(pk, sk).await?
            }
            _ => None,
        };
        Ok(PutIfAbsent::Taken(occupant))
    }

    /// Moves the claim of `message`'s key from `from` to `to`; when someone else moved it
    /// first, the seq they moved it to.
    pub(super) async fn move_claim(
        &self,
        message: &Message,
        from: u64,
        to: u64,
    ) -> Result<u64, StoreError> {
        let (pk, sk) = claim_key(message);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression("SET seq = :to")
            .condition_expression("seq = :from")
            .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(to),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item.as_ref().and_then(claimed_seq) {
                        Some(seq) => Ok(seq),
                        // An emulator may not return the item: read the claim.
                        None => self
                            .claim_of(message)
                            .await?
                            .ok_or_else(|| StoreError::Internal("claim vanished".into())),
                    }
                }
                _ => Err(store_error(error)),
            },
        }
    }

    /// The seq the idempotency record of `message`'s key claims, if there is one.
    pub(super) async fn claim_of(&self, message: &Message) -> Result<Option<u64>, StoreError> {
        let (pk, sk) = claim_key(message);
        Ok(self.get(pk, sk).await?.as_ref().and_then(claimed_seq))
    }

    pub(super) async fn find_by_key(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let pk = conversation_pk(account_id, conversation_id);
        let Some(record) = self
            .get(pk.clone(), idempotency_sk(client_message_id, author_id))
            .await?
        else {
            return Ok(None);
        };
        let seq = claimed_seq(&record)
            .ok_or_else(|| StoreError::Internal("idempotency record without seq".into()))?;
        // A claim whose message was never written (the request died in between) finds nothing:
        // the next append of the key completes it.
        match self.get(pk, message_sk(seq)).await? {
            Some(item) => {
                let message: Message = decode(item)?;
                Ok(is_same_key(&message, author_id, client_message_id).then_some(message))
            }
            None => Ok(None),
        }
    }
}

pub(super) fn claimed_seq(record: &Item) -> Option<u64> {
    match record.get("seq") {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

pub(super) fn is_same_key(message: &Message, author_id: &str, client_message_id: &str) -> bool {
    message.author_id == author_id && message.client_message_id == client_message_id
}

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append_message(&self, message: &Message) -> Result<AppendOutcome, StoreError> {
        // Two single-item conditional puts (one write unit each, where a transaction of the
        // same two items bills four):
        // 1. the idempotency record claims (author, client_message_id) for seq n;
        // 2. the message is put at `M#{n}` on condition that the slot is free.
        // Invariants: a key's message is only ever written at the seq its record claims, and
        // a claim moves away from n only after `M#{n}` was seen holding another message
        // (messages are never deleted), so a key is stored at most once. Every n is chosen as
        // one past a message that exists, so seqs stay gap-free and become visible in order.
        // A request that dies between the two puts leaves a claim its retry completes.
        let mut candidate = message.clone();
        if candidate.seq == 0 {
            candidate.seq = self
                .last_seq(&message.account_id, &message.conversation_id)
                .await?
                + 1;
        }
        let (claim, message_item) = self.message_items(&candidate)?;
        if let PutIfAbsent::Taken(record) = self.put_if_absent(claim).await? {
            match record.as_ref().and_then(claimed_seq) {
                Some(seq) => candidate.seq = seq,
                // The record expired between the two reads: start over.
                None => return Box::pin(self.append_message(message)).await,
            }
        }
        let mut message_item = message_item;
        let mut misses = 0u32;
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            message_item.insert(SORT_KEY.into(), s(message_sk(candidate.seq)));
            message_item.insert("seq".into(), AttributeValue::N(candidate.seq.to_string()));
            let occupant = match self.put_if_absent(message_item.clone()).await? {
                PutIfAbsent::Stored => return Ok(AppendOutcome::Created(candidate)),
                PutIfAbsent::Taken(occupant) => occupant.map(decode::<Message>).transpose()?,
            };
            if let Some(existing) = occupant
                .as_ref()
                .filter(|m| is_same_key(m, &message.author_id, &message.client_message_id))
            {
                // Stored before (an earlier delivery, or a concurrent retry got here first).
                return Ok(AppendOutcome::Existing(existing.clone()));
            }
            // Another message holds this seq: claim the next one. After a few misses in a
            // row (a stale claim, or a busy conversation), jump to one past the last message.
            misses += 1;
            let next = if misses < 4 {
                candidate.seq + 1
            } else {
                tokio::time::sleep(jittered_backoff(attempt)).await;
                misses = 0;
                self.last_seq(&message.account_id, &message.conversation_id)
                    .await?
                    + 1
            };
            candidate.seq = self.move_claim(&candidate, candidate.seq, next).await?;
        }
        Err(StoreError::Unavailable(
            "message sequence contention".into(),
        ))
    }

    async fn find_message(
        &self,
        account_id: &str,
        conversation_id: &str,
        author_id: &str,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.find_by_key(account_id, conversation_id, author_id, client_message_id)
            .await
    }

    async fn list_messages(
        &self,
        account_id: &str,
        conversation_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let Some(first) = first_after(after_seq) else {
            return Ok(Vec::new());
        };
        let items = self
            .query_range(
                conversation_pk(account_id, conversation_id),
                message_sk(first),
                &message_sk(MAX_KEYED_NUMBER),
                limit,
            )
            .await?;
        decode_all(items)
    }

    async fn last_seq(&self, account_id: &str, conversation_id: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", s(conversation_pk(account_id, conversation_id)))
            .expression_attribute_values(":m", s("M#"))
            .projection_expression("sk")
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(1)
            .send()
            .await
            .map_err(store_error)?;
        let Some(item) = output.items.unwrap_or_default().into_iter().next() else {
            return Ok(0);
        };
        match item.get(SORT_KEY) {
            Some(AttributeValue::S(sk)) => sk
                .strip_prefix("M#")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::Internal(format!("bad message key {sk}"))),
            _ => Err(StoreError::Internal("message item without sort key".into())),
        }
    }

    async fn store_redaction(&self, tombstone: &Message) -> Result<bool, StoreError> {
        let item = encode(
            tombstone,
            conversation_pk(&tombstone.account_id, &tombstone.conversation_id),
            message_sk(tombstone.seq),
        )?;
        // The whole item is replaced (the stream then carries the message before and after);
        // only a message that is there and not yet redacted.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(redacted)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(store_error(error)),
            },
        }
    }
}
