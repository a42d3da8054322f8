//! The adapter contract suite against the in-memory adapters (no emulator needed).

use std::sync::Arc;
use std::time::Duration;

use adapters::memory::{MemoryObjects, MemoryPush, MemoryQueue, MemoryStore, Outgoing};
use use_cases::contract::{FeedUnderTest, ObjectsUnderTest, PushUnderTest, PutObject};
use use_cases::ports::{LocalBucket, Queue, Store};

async fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::default())
}

async fn memory_queue() -> Arc<dyn Queue> {
    Arc::new(MemoryQueue::new(Duration::from_secs(30), 5))
}

struct GatewayPut(Arc<MemoryObjects>);

#[async_trait::async_trait]
impl PutObject for GatewayPut {
    async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.0.put(key, bytes).await.unwrap();
    }
}

async fn memory_objects() -> ObjectsUnderTest {
    let objects = Arc::new(MemoryObjects::new(memory_queue().await));
    ObjectsUnderTest {
        objects: objects.clone(),
        put: Arc::new(GatewayPut(objects)),
    }
}

mod store {
    use super::*;
    use_cases::store_contract_tests!(memory_store());
}

mod queue {
    use super::*;
    use_cases::queue_contract_tests!(memory_queue());
}

mod objects {
    use super::*;
    use_cases::object_store_contract_tests!(memory_objects());
}

async fn memory_feed() -> FeedUnderTest {
    let store = Arc::new(MemoryStore::default());
    FeedUnderTest {
        store: store.clone(),
        feed: store,
    }
}

mod change_feed {
    use super::*;
    use_cases::change_feed_contract_tests!(memory_feed());
}

async fn memory_push() -> PushUnderTest {
    let push = Arc::new(MemoryPush::default());
    let receiver = std::sync::Mutex::new(push.open("open-1"));
    // A socket that closed: its task dropped the receiver.
    drop(push.open("gone-1"));
    PushUnderTest {
        push,
        open: "open-1".into(),
        received: Some(Arc::new(move || {
            let mut frames = Vec::new();
            if let Ok(mut receiver) = receiver.lock() {
                while let Ok(Outgoing::Frame(frame)) = receiver.try_recv() {
                    frames.push(frame);
                }
            }
            frames
        })),
        gone: "gone-1".into(),
    }
}

mod push {
    use super::*;
    use_cases::push_contract_tests!(memory_push());
}
