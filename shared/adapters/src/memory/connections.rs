//! WebSocket connections and their subscriptions; the change feed of the store's writes.

use super::*;
use domain::realtime::PushCursor;

impl Tables {
    fn live_connections(&self, now: i64) -> impl Iterator<Item = &(Connection, BTreeSet<String>)> {
        self.connections
            .values()
            .filter(move |(connection, _)| connection.is_live(now))
    }
}

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn add_connection(
        &self,
        connection: &Connection,
        max_per_account: usize,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let held = tables
            .live_connections(domain::now_ms())
            .filter(|(c, _)| c.listener.account_id == connection.listener.account_id)
            .count();
        if held >= max_per_account {
            return Ok(false);
        }
        tables
            .connections
            .insert(connection.id.clone(), (connection.clone(), BTreeSet::new()));
        Ok(true)
    }

    async fn get_connection(&self, connection_id: &str) -> Result<Option<Connection>, StoreError> {
        Ok(self
            .lock()?
            .connections
            .get(connection_id)
            .map(|(c, _)| c.clone())
            .filter(|c| c.is_live(domain::now_ms())))
    }

    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        self.lock()?.connections.remove(connection_id);
        Ok(())
    }

    async fn connections_of(&self, listener: &Listener) -> Result<Vec<Connection>, StoreError> {
        let key = listener.key();
        Ok(self
            .lock()?
            .live_connections(domain::now_ms())
            .filter(|(c, _)| {
                c.listener.account_id == listener.account_id && c.listener.key() == key
            })
            .map(|(c, _)| c.clone())
            .collect())
    }

    async fn subscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        if let Some((_, subscriptions)) = self.lock()?.connections.get_mut(&connection.id) {
            subscriptions.insert(conversation_id.to_string());
        }
        Ok(())
    }

    async fn unsubscribe(
        &self,
        connection: &Connection,
        conversation_id: &str,
    ) -> Result<(), StoreError> {
        if let Some((_, subscriptions)) = self.lock()?.connections.get_mut(&connection.id) {
            subscriptions.remove(conversation_id);
        }
        Ok(())
    }

    async fn subscribers_of(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<Connection>, StoreError> {
        Ok(self
            .lock()?
            .live_connections(domain::now_ms())
            .filter(|(c, subscriptions)| {
                c.listener.account_id == account_id && subscriptions.contains(conversation_id)
            })
            .map(|(c, _)| c.clone())
            .collect())
    }

    async fn push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<PushCursor, StoreError> {
        let key = (account_id.to_string(), conversation_id.to_string());
        Ok(self
            .lock()?
            .push_cursors
            .get(&key)
            .copied()
            .unwrap_or_default())
    }

    async fn advance_push_cursor(
        &self,
        account_id: &str,
        conversation_id: &str,
        seq: u64,
        heard: bool,
    ) -> Result<(), StoreError> {
        let key = (account_id.to_string(), conversation_id.to_string());
        let mut tables = self.lock()?;
        let cursor = tables.push_cursors.entry(key).or_default();
        if cursor.through_seq < seq {
            *cursor = PushCursor {
                through_seq: seq,
                heard,
            };
        }
        Ok(())
    }
}

#[async_trait]
impl ChangeFeed for MemoryStore {
    async fn next_changes(&self, wait: Duration) -> Result<Vec<StoredChange>, StoreError> {
        // Whoever reads the feed also plays DynamoDB's TTL sweeper (at most once a second).
        self.expire_conversations_now()?;
        let changed = {
            let mut tables = self.lock()?;
            if !tables.changes.is_empty() {
                return Ok(tables.changes.drain(..).collect());
            }
            tables.changed.clone()
        };
        // A write between the check and here left a permit, so this returns at once.
        let _ = tokio::time::timeout(wait, changed.notified()).await;
        Ok(self.lock()?.changes.drain(..).collect())
    }
}
