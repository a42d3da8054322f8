//! The local gateway's sockets as a push target: each open connection is a channel its socket
//! task drains; a connection whose socket closed is gone.

use super::*;
use tokio::sync::mpsc;

/// What a socket task receives for its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Frame(String),
    Close,
}

/// Open sockets by connection id.
#[derive(Default)]
pub struct MemoryPush {
    sockets: Mutex<HashMap<String, mpsc::UnboundedSender<Outgoing>>>,
}

impl MemoryPush {
    /// Registers an open socket; frames pushed to `connection_id` arrive on the receiver.
    pub fn open(&self, connection_id: &str) -> mpsc::UnboundedReceiver<Outgoing> {
        let (sender, receiver) = mpsc::unbounded_channel();
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.insert(connection_id.to_string(), sender);
        }
        receiver
    }

    /// Forgets a socket that closed.
    pub fn closed(&self, connection_id: &str) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.remove(connection_id);
        }
    }

    fn sender(
        &self,
        connection_id: &str,
    ) -> Result<Option<mpsc::UnboundedSender<Outgoing>>, StoreError> {
        Ok(self
            .sockets
            .lock()
            .map_err(|_| StoreError::Internal("memory push lock poisoned".into()))?
            .get(connection_id)
            .cloned())
    }
}

#[async_trait]
impl Push for MemoryPush {
    async fn push(&self, connection_id: &str, frame: &str) -> Result<PushOutcome, StoreError> {
        // What API Gateway refuses (R32).
        domain::aws_limits::check_frame(frame).map_err(|e| StoreError::Internal(e.to_string()))?;
        match self.sender(connection_id)? {
            Some(sender) if sender.send(Outgoing::Frame(frame.to_string())).is_ok() => {
                Ok(PushOutcome::Delivered)
            }
            _ => {
                self.closed(connection_id);
                Ok(PushOutcome::Gone)
            }
        }
    }

    async fn close(&self, connection_id: &str) -> Result<(), StoreError> {
        if let Some(sender) = self.sender(connection_id)? {
            let _ = sender.send(Outgoing::Close);
        }
        self.closed(connection_id);
        Ok(())
    }
}
