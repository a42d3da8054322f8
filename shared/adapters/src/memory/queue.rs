//! An in-memory work queue with SQS semantics: visibility timeout, receive count, dead letters.

use super::*;

/// Waiting messages, and the bodies moved to the dead-letter list.
#[derive(Default)]
struct QueueState {
    waiting: VecDeque<QueuedMessage>,
    dead: Vec<String>,
}

struct QueuedMessage {
    message_id: String,
    body: String,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

/// An in-memory queue with SQS's delivery semantics: delays, visibility timeouts, receive
/// counts and a dead-letter list after `max_receive_count` receives.
pub struct MemoryQueue {
    visibility_timeout: Duration,
    max_receive_count: u32,
    state: Mutex<QueueState>,
}

impl MemoryQueue {
    pub fn new(visibility_timeout: Duration, max_receive_count: u32) -> Self {
        Self {
            visibility_timeout,
            max_receive_count,
            state: Mutex::new(QueueState::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, QueueState>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Internal("memory queue lock poisoned".into()))
    }

    /// Bodies moved to the dead-letter list.
    pub fn dead_letters(&self) -> Vec<String> {
        self.lock().map(|s| s.dead.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, body: &str, delay_seconds: u32) -> Result<(), StoreError> {
        let body = crate::sqs::sqs_body(body)?;
        self.lock()?.waiting.push_back(QueuedMessage {
            message_id: new_id("q"),
            body,
            visible_at: Instant::now() + Duration::from_secs(u64::from(delay_seconds.min(900))),
            receive_count: 0,
            receipt: None,
        });
        Ok(())
    }

    async fn receive(&self, max: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        let mut guard = self.lock()?;
        let QueueState {
            waiting: queue,
            dead,
        } = &mut *guard;
        let now = Instant::now();
        // Messages received too often go to the dead-letter list, as SQS's redrive policy does.
        let max_receives = self.max_receive_count;
        queue.retain(|m| {
            let exhausted = m.receive_count >= max_receives && m.visible_at <= now;
            if exhausted {
                dead.push(m.body.clone());
            }
            !exhausted
        });
        let mut out = Vec::new();
        for m in queue.iter_mut() {
            if out.len() as u32 >= max.clamp(1, 10) {
                break;
            }
            if m.visible_at <= now {
                m.receive_count += 1;
                m.visible_at = now + self.visibility_timeout;
                let receipt = new_id("r");
                m.receipt = Some(receipt.clone());
                out.push(ReceivedMessage {
                    message_id: m.message_id.clone(),
                    receipt,
                    body: m.body.clone(),
                    receive_count: m.receive_count,
                });
            }
        }
        Ok(out)
    }

    async fn acknowledge(&self, receipt: &str) -> Result<(), StoreError> {
        self.lock()?
            .waiting
            .retain(|m| m.receipt.as_deref() != Some(receipt));
        Ok(())
    }

    async fn retry_after(&self, receipt: &str, delay_seconds: u32) -> Result<(), StoreError> {
        let visible_at = Instant::now() + Duration::from_secs(u64::from(delay_seconds.min(900)));
        for m in self.lock()?.waiting.iter_mut() {
            if m.receipt.as_deref() == Some(receipt) {
                m.visible_at = visible_at;
            }
        }
        Ok(())
    }
}
