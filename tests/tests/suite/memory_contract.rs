//! The adapter contract suite against the in-memory adapters (no emulator needed).

use std::sync::Arc;
use std::time::Duration;

use shared::adapters::memory::{MemoryQueue, MemoryStore};
use shared::ports::{Queue, Store};

async fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::default())
}

async fn memory_queue() -> Arc<dyn Queue> {
    Arc::new(MemoryQueue::new(Duration::from_secs(30), 5))
}

mod store {
    use super::*;
    shared::store_contract_tests!(memory_store());
}

mod queue {
    use super::*;
    shared::queue_contract_tests!(memory_queue());
}
