//! `route-conversation`: the routing queue's consumer (R23–R26). The queue carries the
//! conversations' timers. A routing message names a conversation needing an agent, an offer
//! whose time is up, or just an account whose waiting list should be drained; all three end
//! with a drain. An idle check asks whether a session went idle (`messaging.idle_timeout_minutes`)
//! and ends it if so. An email followup asks whether an agent's reply went unread, and
//! emails the unread replies if so (R35). Failed messages are reported alone (partial batch response) and
//! dead-lettered after the queue's receive limit (R26).

use domain::email::outbound::EmailFollowup;
use domain::idle_sessions::{IdleCheck, IdleVerdict};
use domain::model::RoutingRequest;
use serde::Deserialize;
use use_cases::backend::Backend;
use use_cases::batch::run_batch;
use use_cases::ports::ReceivedMessage;
use use_cases::router::{process, RouteReport};
use use_cases::StoreError;

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
            .is_some_and(|c| !domain::ids::is_valid_id("c", c))
    {
        return Err(RouteError::Malformed(
            "bad account or conversation id".into(),
        ));
    }
    Ok(process(backend, &request).await?)
}

/// A message of the routing queue, told apart by its fields (both refuse unknown ones).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RoutingQueueMessage {
    Routing(RoutingRequest),
    IdleCheck(IdleCheck),
    EmailFollowup(EmailFollowup),
}

/// Judges one idle check at `now` (`use_cases::idle_checks`).
pub async fn handle_idle_check(
    backend: &Backend,
    check: &IdleCheck,
    now: i64,
) -> Result<IdleVerdict, RouteError> {
    if !domain::ids::is_valid_id("c", &check.conversation_id) || check.account_id.is_empty() {
        return Err(RouteError::Malformed(
            "bad account or conversation id".into(),
        ));
    }
    Ok(use_cases::idle_checks::check(backend, check, now).await?)
}

/// Judges one check of an unread reply at `now` (`use_cases::email::followup`, R35).
pub async fn handle_email_followup(
    backend: &Backend,
    followup: &EmailFollowup,
    now: i64,
) -> Result<use_cases::email::followup::Followup, RouteError> {
    if !domain::ids::is_valid_id("c", &followup.conversation_id) || followup.account_id.is_empty() {
        return Err(RouteError::Malformed(
            "bad account or conversation id".into(),
        ));
    }
    Ok(use_cases::email::followup::check(backend, followup, now).await?)
}

/// Processes a batch; returns the ids of the messages that failed.
pub async fn handle_batch(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    run_batch(
        "route-conversation",
        batch,
        |message: RoutingQueueMessage| async move {
            match message {
                RoutingQueueMessage::Routing(request) => {
                    let report = handle_request(backend, request).await?;
                    tracing::debug!(
                        offered = report.offered,
                        withdrawn = report.withdrawn,
                        "routing message done"
                    );
                }
                RoutingQueueMessage::IdleCheck(check) => {
                    let verdict = handle_idle_check(backend, &check, domain::now_ms()).await?;
                    tracing::debug!(?verdict, "idle check done");
                }
                RoutingQueueMessage::EmailFollowup(followup) => {
                    let done = handle_email_followup(backend, &followup, domain::now_ms()).await?;
                    tracing::debug!(?done, "email followup done");
                }
            }
            Ok::<_, RouteError>(())
        },
    )
    .await
}
