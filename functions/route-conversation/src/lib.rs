//! `route-conversation`: the routing queue's consumer (R23–R26). Each message names a
//! conversation needing an agent, an offer whose time is up, or just an account whose waiting
//! list should be drained; all three end with a drain. Failed messages are reported alone
//! (partial batch response) and dead-lettered after the queue's receive limit (R26).

use shared::backend::Backend;
use shared::model::RoutingRequest;
use shared::ports::ReceivedMessage;
use shared::router::{process, RouteReport};
use shared::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// Not a routing message: retrying cannot help; the DLQ keeps it for inspection.
    #[error("malformed routing message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Handles one message body.
pub async fn handle_message(backend: &Backend, body: &str) -> Result<RouteReport, RouteError> {
    let request: RoutingRequest =
        serde_json::from_str(body).map_err(|e| RouteError::Malformed(e.to_string()))?;
    if request.account_id.is_empty()
        || request
            .conversation_id
            .as_deref()
            .is_some_and(|c| !shared::ids::is_valid_id("c", c))
    {
        return Err(RouteError::Malformed(
            "bad account or conversation id".into(),
        ));
    }
    Ok(process(backend, &request).await?)
}

/// Processes a batch; returns the ids of the messages that failed.
pub async fn handle_batch(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    let mut failed = Vec::new();
    for message in batch {
        match handle_message(backend, &message.body).await {
            Ok(report) => tracing::debug!(
                offered = report.offered,
                withdrawn = report.withdrawn,
                "routing message done"
            ),
            Err(error) => {
                tracing::warn!(%error, message_id = %message.message_id, receive_count = message.receive_count, "routing message failed");
                failed.push(message.message_id.clone());
            }
        }
    }
    failed
}
