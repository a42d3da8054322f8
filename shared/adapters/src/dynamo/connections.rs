//! WebSocket connections (R27). Each connection is three kinds of item, all expiring with it:
//! `CONN#{id}` / `CONN` (found by id, lists its subscriptions), `A#{acct}#RT` /
//! `L#{listener}#{id}` (found by whom it serves, counted per account) and `A#{acct}#RT` /
//! `S#{cid}#{id}` (found by the conversation it subscribed to).
//!
//! A conversation's push cursor (`realtime::direct`) is `PUSH#{acct}#{cid}` / `CURSOR`: out of
//! the conversation's partition so that the stream's filter (`A#` partitions) keeps its
//! updates from the fan-out, and expiring a day after its last move (an expired cursor reads
//! as none, which only sends the next message down the stream).

use aws_sdk_dynamodb::types::Select;

use super::*;
use domain::realtime::{Listener, PushCursor};
use use_cases::ports::{Connection, ConnectionStore};

const SUBSCRIPTIONS: &str = "subscriptions";
const THROUGH_SEQ: &str = "through_seq";
const HEARD: &str = "heard";
/// How long a push cursor outlives its last move.
const PUSH_CURSOR_LIFETIME_SECS: i64 = 24 * 3600;

fn push_cursor_key(account_id: &str, conversation_id: &str) -> (String, String) {
    (
        format!("PUSH#{account_id}#{conversation_id}"),
        "CURSOR".into(),
    )
}

fn connection_key(connection_id: &str) -> (String, String) {
    (format!("CONN#{connection_id}"), "CONN".into())
}

fn realtime_pk(account_id: &str) -> String {
    format!("A#{account_id}#RT")
}

fn listener_prefix(listener: &Listener) -> String {
    format!("L#{}#", listener.key())
}

fn listener_key(connection: &Connection) -> (String, String) {
    (
        realtime_pk(&connection.listener.account_id),
        format!("{}{}", listener_prefix(&connection.listener), connection.id),
    )
}

fn subscription_key(connection: &Connection, conversation_id: &str) -> (String, String) {
    (
        realtime_pk(&connection.listener.account_id),
        format!("S#{conversation_id}#{}", connection.id),
    )
}

impl DynamoStore {
    fn connection_item(
        &self,
        connection: &Connection,
        (pk, sk): (String, String),
    ) -> Result<Item, StoreError> {
        encode(connection, pk, sk)
    }

    /// Live connections stored in `A#{acct}#RT` under sort keys starting with `prefix`.
    async fn live_connections(
        &self,
        account_id: &str,
        prefix: &str,
    ) -> Result<Vec<Connection>, StoreError> {
        let items = self
            .query_range(
                realtime_pk(account_id),
                prefix.to_string(),
                &format!("{prefix}~"),
                usize::MAX,
            )
            .await?;
        let now = domain::now_ms();
        Ok(decode_all::<Connection>(items)?
            .into_iter()
            .filter(|c| c.is_live(now))
            .collect())
    }

    /// Adds (`ADD`) or removes (`DELETE`) a conversation in the connection's list of
    /// subscriptions; `Conflict` when the connection is gone.
    async fn list_subscription(
        &self,
        connection_id: &str,
        operation: &str,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        let (pk, sk) = connection_key(connection_id);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression(format!("{operation} #subs :cid"))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#subs", SUBSCRIPTIONS)
            .expression_attribute_values(":cid", AttributeValue::Ss(vec![conversation_id.into()]))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// How many live connections the account holds, counting at most `up_to`.
    async fn count_connections(&self, account_id: &str, up_to: usize) -> Result<usize, StoreError> {
        let mut count = 0usize;
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .filter_expression("#ttl > :now")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":pk", s(realtime_pk(account_id)))
                .expression_attribute_values(":prefix", s("L#"))
                .expression_attribute_values(":now", n(domain::now_ms() / 1000))
                .select(Select::Count)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(store_error)?;
            count += output.count.max(0) as usize;
            start_key = output.last_evaluated_key;
            if start_key.is_none() || count >= up_to {
                return Ok(count);
            }
        }
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn add_connection(
        &self,
        connection: &Connection,
        max_per_account: usize,
    ) -> Result<bool, StoreError> {
        let held = self
            .count_connections(&connection.listener.account_id, max_per_account)
            .await?;
        if held >= max_per_account {
            return Ok(false);
        }
        self.transact(vec![
            self.plain_put(self.connection_item(connection, connection_key(&connection.id))?)?,
            self.plain_put(self.connection_item(connection, listener_key(connection))?)?,
        ])
        .await?;
        Ok(true)
    }

    async fn get_connection(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        let (pk, sk) = connection_key(connection_id);
        let Some(item) = self.get(pk, sk).await? else {
            return Ok(None);
        };
        let connection: Connection = decode(item)?;
        Ok(connection.is_live(domain::now_ms()).then_some(connection))
    }

    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = connection_key(connection_id);
        let Some(item) = self.get(pk, sk).await? else {
            return Ok(());
        };
        let subscriptions: Vec<String> = match item.get(SUBSCRIPTIONS) {
            Some(AttributeValue::Ss(set)) => set.clone(),
            _ => Vec::new(),
        };
        let connection: Connection = decode(item)?;
        let mut keys = vec![listener_key(&connection)];
        keys.extend(
            subscriptions
                .iter()
                .map(|cid| subscription_key(&connection, cid)),
        );
        // The record found by id goes last: until it is gone, a retry can find the rest.
        keys.push(connection_key(connection_id));
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }

    async fn connections_of(&self, listener: &Listener) -> Result<Vec<Connection>, StoreError> {
        self.live_connections(&listener.account_id, &listener_prefix(listener))
            .await
    }

    async fn subscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        // Listed on the connection first, so that removing the connection finds it.
        self.list_subscription(&connection.id, "ADD", conversation_id)
            .await?;
        self.put(
            self.connection_item(connection, subscription_key(connection, conversation_id))?,
            None,
        )
        .await
    }

    async fn unsubscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        self.delete(subscription_key(connection, conversation_id))
            .await?;
        match self
            .list_subscription(&connection.id, "DELETE", conversation_id)
            .await
        {
            // The connection went meanwhile: nothing left to unlist.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn subscribers_of(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<Connection>, StoreError> {
        self.live_connections(account_id, &format!("S#{conversation_id}#"))
            .await
    }

    async fn push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<PushCursor, StoreError> {
        let (pk, sk) = push_cursor_key(account_id, conversation_id);
        let Some(item) = self.get(pk, sk).await? else {
            return Ok(PushCursor::default());
        };
        // Expired but not yet deleted by DynamoDB: as good as none.
        let expired = match item.get(TTL_ATTRIBUTE) {
            Some(AttributeValue::N(at)) => {
                at.parse::<i64>().unwrap_or(0) <= domain::now_ms() / 1000
            }
            _ => true,
        };
        match (item.get(THROUGH_SEQ), item.get(HEARD)) {
            (Some(AttributeValue::N(seq)), Some(AttributeValue::Bool(heard))) if !expired => {
                Ok(PushCursor {
                    through_seq: seq.parse().map_err(|_| {
                        StoreError::Internal(format!("push cursor {seq} is not a seq"))
                    })?,
                    heard: *heard,
                })
            }
            _ => Ok(PushCursor::default()),
        }
    }

    async fn advance_push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
        seq: u64,
        heard: bool,
    ) -> Result<(), StoreError> {
        let (pk, sk) = push_cursor_key(account_id, conversation_id);
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression("SET #seq = :seq, #heard = :heard, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#seq) OR #seq < :seq")
            .expression_attribute_names("#seq", THROUGH_SEQ)
            .expression_attribute_names("#heard", HEARD)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":heard", AttributeValue::Bool(heard))
            .expression_attribute_values(
                ":ttl",
                n(domain::now_ms() / 1000 + PUSH_CURSOR_LIFETIME_SECS),
            )
            .send()
            .await
            .map_err(store_error);
        match outcome {
            // Already past `seq`: it never moves back.
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }
}
