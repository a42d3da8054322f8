//! `route-conversation`: the routing queue's consumer (R23–R26). Each message names a
//! conversation needing an agent, an offer whose time is up, or just an account whose waiting
//! list should be drained; all three end with a drain. Failed messages are reported alone
//! (partial batch response) and dead-lettered after the queue's receive limit (R26).

use shared::backend::Backend;
use shared::batch::run_batch;
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

/// Handles one routing request.
pub async fn handle_request(
    backend: &Backend,
    request: RoutingRequest,
) -> Result<RouteReport, RouteError> {
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
    run_batch(
        "route-conversation",
        batch,
        |request: RoutingRequest| async move {
            let report = handle_request(backend, request).await?;
            tracing::debug!(
                offered = report.offered,
                withdrawn = report.withdrawn,
                "routing message done"
            );
            Ok::<_, RouteError>(())
        },
    )
    .await
}
