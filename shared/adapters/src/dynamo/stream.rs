//! The table's change stream (DynamoDB Streams, `NEW_AND_OLD_IMAGES`): stream images decoded
//! into the conversations and messages they hold, for the fan-out function (which Lambda hands
//! the records) and for the local gateway (which reads the stream itself, as Lambda would).

use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use tokio::sync::Mutex as AsyncMutex;

use super::*;
use domain::realtime::{Stored, StoredChange};
use use_cases::ports::ChangeFeed;

/// The stored item a stream image holds, when it is one the real-time feed knows
/// (a conversation or a message); `None` for every other item of the table.
pub fn stored_of(image: serde_dynamo::Item) -> Result<Option<Stored>, StoreError> {
    let rating = matches!(
        image.get(PARTITION_KEY),
        Some(serde_dynamo::AttributeValue::S(pk)) if pk.ends_with("#CSATR")
    );
    let kind = match image.get(SORT_KEY) {
        _ if rating => "rating",
        Some(serde_dynamo::AttributeValue::S(sk)) if sk == "CONV" => "conversation",
        Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("M#") => "message",
        _ => return Ok(None),
    };
    let decoding = |e: serde_dynamo::Error| StoreError::Internal(format!("{kind} image: {e}"));
    Ok(Some(match kind {
        "conversation" => {
            Stored::Conversation(Box::new(serde_dynamo::from_item(image).map_err(decoding)?))
        }
        "rating" => Stored::Rating(Box::new(serde_dynamo::from_item(image).map_err(decoding)?)),
        _ => Stored::Message(Box::new(serde_dynamo::from_item(image).map_err(decoding)?)),
    }))
}

/// One stream record as a change, `None` when it is about no item the feed knows.
pub fn change_of(
    old_image: serde_dynamo::Item,
    new_image: serde_dynamo::Item,
) -> Result<Option<StoredChange>, StoreError> {
    let image = |item: serde_dynamo::Item| -> Result<Option<Stored>, StoreError> {
        if item.is_empty() {
            Ok(None)
        } else {
            stored_of(item)
        }
    };
    let change = StoredChange {
        before: image(old_image)?,
        after: image(new_image)?,
    };
    Ok((change.before.is_some() || change.after.is_some()).then_some(change))
}

/// Reads a table's stream from where it was when the feed started, shard by shard, as a
/// Lambda event source mapping does (one reader; records of a shard in order).
pub struct DynamoStreamFeed {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// Next iterator of each open shard.
    iterators: AsyncMutex<HashMap<String, Option<String>>>,
}

/// How often an idle stream is read again (Lambda polls a stream four times a second).
const STREAM_POLL: Duration = Duration::from_millis(50);

impl DynamoStreamFeed {
    /// A feed of the changes made from now on.
    pub async fn start(
        client: aws_sdk_dynamodbstreams::Client,
        stream_arn: impl Into<String>,
    ) -> Result<Self, StoreError> {
        let feed = Self {
            client,
            stream_arn: stream_arn.into(),
            iterators: AsyncMutex::new(HashMap::new()),
        };
        feed.discover_shards(ShardIteratorType::Latest).await?;
        Ok(feed)
    }

    /// Adds iterators for shards not read yet (`kind` for those present at start; shards that
    /// open later are read from their beginning).
    async fn discover_shards(&self, kind: ShardIteratorType) -> Result<(), StoreError> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        let shards = described
            .stream_description
            .map(|d| d.shards.unwrap_or_default())
            .unwrap_or_default();
        let mut iterators = self.iterators.lock().await;
        for shard in shards {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            if iterators.contains_key(&shard_id) {
                continue;
            }
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(&shard_id)
                .shard_iterator_type(kind.clone())
                .send()
                .await
                .map_err(crate::sdk_error)?
                .shard_iterator;
            iterators.insert(shard_id, iterator);
        }
        Ok(())
    }

    async fn read_once(&self) -> Result<Vec<StoredChange>, StoreError> {
        let mut changes = Vec::new();
        let mut iterators = self.iterators.lock().await;
        for next in iterators.values_mut() {
            let Some(iterator) = next.clone() else {
                continue;
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .map_err(crate::sdk_error)?;
            *next = output.next_shard_iterator;
            for record in output.records.unwrap_or_default() {
                let Some(stream_record) = record.dynamodb else {
                    continue;
                };
                let old: serde_dynamo::Item = stream_record.old_image.unwrap_or_default().into();
                let new: serde_dynamo::Item = stream_record.new_image.unwrap_or_default().into();
                changes.extend(change_of(old, new)?);
            }
        }
        Ok(changes)
    }
}

#[async_trait]
impl ChangeFeed for DynamoStreamFeed {
    async fn next_changes(&self, wait: Duration) -> Result<Vec<StoredChange>, StoreError> {
        let started = std::time::Instant::now();
        loop {
            let changes = self.read_once().await?;
            if !changes.is_empty() || started.elapsed() >= wait {
                return Ok(changes);
            }
            tokio::time::sleep(STREAM_POLL.min(wait)).await;
            if self.iterators.lock().await.values().all(Option::is_none) {
                self.discover_shards(ShardIteratorType::TrimHorizon).await?;
            }
        }
    }
}
