//! Webhook deliveries (spec "Integrations", R29). The fan-out turns each stored change into its
//! events and queues one job per (subscription, event) (`enqueue`); the deliver-webhook
//! consumer posts each job signed (`deliver_batch`). A job is one SQS message for all its
//! attempts: its receive count is the attempt number, a failure sets its visibility to the next
//! wait, and after the last attempt the queue's redrive policy dead-letters it.

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::ports::{Queue, ReceivedMessage, Store, WebhookSender, WebhookStore};
use domain::realtime::StoredChange;
use domain::webhooks::{
    events_of, retry_delay_secs, signature_header, AttemptOutcome, DeliveryAttempt, WebhookEvent,
    MAX_ATTEMPTS, MAX_CONSECUTIVE_FAILURES, PAUSE_AFTER_FAILED_ATTEMPTS, PAUSE_SECS,
};

/// One event for one subscription, as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub account_id: String,
    pub subscription_id: String,
    pub event: WebhookEvent,
}

/// The fan-out's step: queues the change's events for every subscription of the account that
/// wants them. Answers how many jobs were queued. Queued again on a redelivered change, the
/// event keeps its id, so a receiver can drop the copy.
pub async fn enqueue(
    store: &(impl WebhookStore + ?Sized),
    queue: &dyn Queue,
    change: &StoredChange,
    now: i64,
) -> Result<usize, StoreError> {
    let events = events_of(change, now);
    let Some(account_id) = events.first().map(|e| e.account_id.clone()) else {
        return Ok(0);
    };
    let subscriptions = store.list_subscriptions(&account_id).await?;
    let mut jobs = Vec::new();
    for event in &events {
        for subscription in subscriptions.iter().filter(|s| s.wants(event.event_type)) {
            let job = DeliveryJob {
                account_id: account_id.clone(),
                subscription_id: subscription.id.clone(),
                event: event.clone(),
            };
            let body = serde_json::to_string(&job)
                .map_err(|e| StoreError::Internal(format!("job encoding: {e}")))?;
            jobs.push((body, 0));
        }
    }
    if !jobs.is_empty() {
        queue.send_batch(&jobs).await?;
    }
    Ok(jobs.len())
}

/// How deliveries are retried; tests shorten the waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Longest wait between two attempts (SQS allows 900 s; the schedule never exceeds it).
    pub max_delay_secs: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_delay_secs: 900,
        }
    }
}

/// How long the jobs of one batch may take in all: one receiver's 10 s and the log's writes,
/// well inside deliver-webhook's 30 s timeout. A job past it comes back with the queue's
/// visibility timeout, as a failed attempt would.
pub const BATCH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// Delivers a batch of jobs; answers the ids of the messages that must come back (SQS keeps
/// them: a failed attempt waits for its retry, a job that failed its last attempt is
/// dead-lettered by the queue at its next receive). A malformed job or a deleted subscription
/// is done with.
///
/// The subscriptions of a batch are served at once, each one's jobs one after another, all
/// within [`BATCH_DEADLINE`] (#32 item 6): a slow or dead receiver costs its own jobs their
/// attempt, never another subscription's, holds one job in flight at a time, and the batch
/// ends well inside the function's 30 s, so nothing already delivered is sent again. A job
/// its turn did not reach before the deadline comes back a second later.
pub async fn deliver_batch(
    store: &dyn Store,
    queue: &dyn Queue,
    sender: &dyn WebhookSender,
    batch: &[ReceivedMessage],
    policy: RetryPolicy,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + BATCH_DEADLINE;
    // Jobs by subscription, in batch order (a malformed one alone: it is dropped at once).
    let mut by_subscription: Vec<(Option<String>, Vec<&ReceivedMessage>)> = Vec::new();
    for message in batch {
        let subscription = serde_json::from_str::<DeliveryJob>(&message.body)
            .ok()
            .map(|job| format!("{}/{}", job.account_id, job.subscription_id));
        match by_subscription
            .iter_mut()
            .find(|(s, _)| s.is_some() && *s == subscription)
        {
            Some((_, jobs)) => jobs.push(message),
            None => by_subscription.push((subscription, vec![message])),
        }
    }
    let turns = by_subscription.into_iter().map(|(_, jobs)| async move {
        let mut outcomes = Vec::new();
        for message in jobs {
            let outcome = match tokio::time::timeout_at(
                deadline,
                deliver_one(store, queue, sender, message, policy),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => {
                    // Not reached (or cut) before the deadline: back soon, not after the
                    // queue's visibility timeout.
                    let _ = queue.retry_after(&message.receipt, 1).await;
                    Err(format!("past the batch's {} s", BATCH_DEADLINE.as_secs()))
                }
            };
            outcomes.push((message, outcome));
        }
        outcomes
    });
    let mut failed = Vec::new();
    for (message, outcome) in futures::future::join_all(turns).await.into_iter().flatten() {
        if let Err(error) = outcome {
            tracing::warn!(
                consumer = "deliver-webhook",
                message_id = %message.message_id,
                attempt = message.receive_count,
                %error,
                "webhook delivery will be retried or dead-lettered"
            );
            failed.push(message.message_id.clone());
        }
    }
    // In batch order, as SQS listed them.
    failed.sort_by_key(|id| batch.iter().position(|m| &m.message_id == id));
    failed
}

async fn deliver_one(
    store: &dyn Store,
    queue: &dyn Queue,
    sender: &dyn WebhookSender,
    message: &ReceivedMessage,
    policy: RetryPolicy,
) -> Result<(), String> {
    let Ok(job) = serde_json::from_str::<DeliveryJob>(&message.body) else {
        tracing::error!(message_id = %message.message_id, "malformed webhook job dropped");
        return Ok(());
    };
    // The subscription and its secret (stored apart) in one round trip.
    let (subscription, secret) = futures::try_join!(
        store.get_subscription(&job.account_id, &job.subscription_id),
        store.subscription_secret(&job.account_id, &job.subscription_id),
    )
    .map_err(|e| e.to_string())?;
    let (Some(subscription), Some(secret)) =
        (subscription.filter(|s| s.disabled_at.is_none()), secret)
    else {
        // Deleted (with its secret) or disabled since the event was queued: nobody to
        // deliver to.
        return Ok(());
    };
    if let Some(until) = subscription
        .paused_until
        .filter(|until| *until > domain::now_ms())
    {
        // Paused after a run of failed attempts: the job waits for the pause to end (this
        // receive counts toward its attempts, as a failed attempt would have).
        let wait = ((until - domain::now_ms()) / 1000 + 1).clamp(1, 900) as u32;
        queue
            .retry_after(&message.receipt, wait)
            .await
            .map_err(|e| e.to_string())?;
        return Err(format!("subscription paused; next in {wait} s"));
    }
    let body = serde_json::to_string(&job.event).map_err(|e| e.to_string())?;
    let now = domain::now_ms();
    let headers = [
        (
            "relay-signature",
            signature_header(&secret.0, now / 1000, &body),
        ),
        ("relay-event-id", job.event.id.clone()),
        (
            "relay-event-type",
            job.event.event_type.as_str().to_string(),
        ),
    ];
    let attempt = message.receive_count.max(1);
    let answer = sender.post(&subscription.url, &body, &headers).await;
    let delivered = matches!(answer, Ok(status) if (200..300).contains(&status));
    let last = attempt >= MAX_ATTEMPTS;
    let record = DeliveryAttempt {
        account_id: job.account_id.clone(),
        subscription_id: job.subscription_id.clone(),
        event_id: job.event.id.clone(),
        event_type: job.event.event_type,
        attempt,
        status_code: answer.as_ref().ok().copied(),
        error: answer.as_ref().err().cloned(),
        outcome: match (delivered, last) {
            (true, _) => AttemptOutcome::Delivered,
            (false, false) => AttemptOutcome::Retrying,
            (false, true) => AttemptOutcome::Failed,
        },
        at: now,
    };
    store
        .record_attempt(&record)
        .await
        .map_err(|e| e.to_string())?;
    if delivered {
        // A run of failures starts over; with none to reset (the subscription was just
        // read), a delivery costs no extra write.
        if subscription.consecutive_failures > 0 || subscription.failed_attempts > 0 {
            store
                .record_outcome(
                    &job.account_id,
                    &job.subscription_id,
                    true,
                    MAX_CONSECUTIVE_FAILURES,
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    pause_after_a_run_of_failures(store, &record, now).await?;
    if last {
        let after = store
            .record_outcome(
                &job.account_id,
                &job.subscription_id,
                false,
                MAX_CONSECUTIVE_FAILURES,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        if after.is_some_and(|s| s.disabled_at == Some(now)) {
            // The admin reads it in the delivery log, and operators in the logs.
            store
                .record_attempt(&DeliveryAttempt {
                    error: Some(format!(
                        "subscription disabled: {MAX_CONSECUTIVE_FAILURES} events in a row were dead-lettered"
                    )),
                    status_code: None,
                    at: now + 1,
                    ..record
                })
                .await
                .map_err(|e| e.to_string())?;
            tracing::warn!(
                account_id = %job.account_id,
                subscription_id = %job.subscription_id,
                "webhook subscription disabled after a run of dead-lettered events"
            );
        }
        // Visible again at once, so the queue dead-letters it at its next receive.
        queue
            .retry_after(&message.receipt, 0)
            .await
            .map_err(|e| e.to_string())?;
        return Err(format!(
            "attempt {attempt} of {MAX_ATTEMPTS} failed; dead-lettered"
        ));
    }
    let jitter = f64::from(now.rem_euclid(1000) as u32) / 1000.0;
    let wait = retry_delay_secs(attempt, jitter).min(policy.max_delay_secs);
    queue
        .retry_after(&message.receipt, wait)
        .await
        .map_err(|e| e.to_string())?;
    Err(format!("attempt {attempt} failed; next in {wait} s"))
}

/// Counts a failed attempt in its subscription's run; the attempt that reaches
/// [`PAUSE_AFTER_FAILED_ATTEMPTS`] pauses the subscription for [`PAUSE_SECS`], which the
/// admin reads in the delivery log.
async fn pause_after_a_run_of_failures(
    store: &(impl WebhookStore + ?Sized),
    record: &DeliveryAttempt,
    now: i64,
) -> Result<(), String> {
    let until = now + i64::from(PAUSE_SECS) * 1000;
    let after = store
        .record_failed_attempt(
            &record.account_id,
            &record.subscription_id,
            PAUSE_AFTER_FAILED_ATTEMPTS,
            until,
        )
        .await
        .map_err(|e| e.to_string())?;
    if after.is_some_and(|s| s.paused_until == Some(until)) {
        store
            .record_attempt(&DeliveryAttempt {
                error: Some(format!(
                    "subscription paused for {PAUSE_SECS} s: {PAUSE_AFTER_FAILED_ATTEMPTS} attempts in a row failed"
                )),
                status_code: None,
                at: now + 1,
                ..record.clone()
            })
            .await
            .map_err(|e| e.to_string())?;
        tracing::warn!(
            account_id = %record.account_id,
            subscription_id = %record.subscription_id,
            "webhook subscription paused after a run of failed attempts"
        );
    }
    Ok(())
}
