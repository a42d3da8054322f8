//! R31: what one stored change sets off, as a list of reactions, each run on its own.
//!
//! The table's change stream hands every change to the fan-out (on AWS the `fan-out` function,
//! locally the gateway's feed). Its frames go first, then every other reaction (the inbox's
//! order, the built-in bot, the survey, the away message, the idle check, R35's email check,
//! webhook jobs,
//! retention, the reports' counts). A reaction that fails does not hold back the others, nor
//! the next change: it becomes a job of its own on the reactions queue (`ReactionJob`, one per
//! reaction), retried there with its own receive count, and kept in that queue's dead-letter
//! queue (the failure queue) when its retries run out, from where `relay-admin redrive
//! reactions` replays it.
//! Every reaction is idempotent, so a retry or a replay does its work once: frames carry ids a
//! client drops copies of, and the others write conditionally or under ids fixed by the change.
//!
//! Only when the job itself cannot be queued does a change fail as a whole (`FanOutError`):
//! the stream retries it, then its event source mapping's on-failure destination keeps it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::StoreError;
use crate::ports::ReceivedMessage;
use crate::Backend;
use domain::model::Conversation;
use domain::realtime::{conversation_needed, events_of, pushed_by_its_writer, Event, StoredChange};

/// One thing a stored change sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    /// The change's frames to every connection allowed to see them (R27).
    Frames,
    /// The inbox's activity order and the ticket history (`agent_workspace::follow_up`).
    Workspace,
    /// The built-in bot's turn after an end user's message.
    BuiltInBot,
    /// R6's survey after a session's end notice.
    Satisfaction,
    /// The away message after a handoff outside business hours.
    AwayMessage,
    /// The session's idle check after an end user's message.
    IdleCheck,
    /// R35: the check whether an agent's reply went unread, to email it.
    EmailFollowup,
    /// R29's webhook jobs.
    Webhooks,
    /// A conversation at rest carries its expiry.
    Expiry,
    /// A conversation the TTL removed is purged (its files handed over, then its items).
    Purge,
    /// The reports' counts (`reports::count_change`).
    Reports,
    /// The items left of a purge larger than one invocation (#32 item 4): never part of a
    /// change's own reactions, only queued by the purge until nothing is left.
    PurgeRest,
}

impl Reaction {
    /// Every reaction, in the order a change runs them: frames first.
    pub const ALL: [Reaction; 11] = [
        Reaction::Frames,
        Reaction::Workspace,
        Reaction::BuiltInBot,
        Reaction::Satisfaction,
        Reaction::AwayMessage,
        Reaction::IdleCheck,
        Reaction::EmailFollowup,
        Reaction::Webhooks,
        Reaction::Expiry,
        Reaction::Purge,
        Reaction::Reports,
    ];
}

/// A reaction to run again, with the change it reacts to: one message of the reactions queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionJob {
    pub reaction: Reaction,
    pub change: StoredChange,
}

/// Seconds a new retry job waits before its first attempt.
pub const FIRST_RETRY_DELAY_SECS: u32 = 1;

/// The wait before the next attempt of a job that failed its `receive_count`th one; the
/// queue's redrive policy moves it to the failure queue after its fifth receive.
pub fn retry_delay_secs(receive_count: u32) -> u32 {
    match receive_count {
        0 | 1 => 2,
        2 => 10,
        3 => 30,
        _ => 60,
    }
}

/// What reacting to one change did.
#[derive(Debug, Default)]
pub struct Reacted {
    pub frames: usize,
    pub gone: usize,
    /// The reactions that failed, each with its error (the others completed).
    pub failed: Vec<(Reaction, StoreError)>,
}

/// Runs `reactions` for `change`, each on its own: an error in one is recorded and the next
/// one runs. The conversation the frames and the bot need is read once.
pub async fn react(
    backend: &Backend,
    change: &StoredChange,
    reactions: &[Reaction],
    now: i64,
) -> Reacted {
    match conversation_for(backend, change, reactions).await {
        Ok(conversation) => run_each(backend, change, reactions, conversation.as_ref(), now).await,
        Err(error) => Reacted {
            failed: reactions
                .iter()
                .map(|r| (*r, StoreError::Unavailable(error.to_string())))
                .collect(),
            ..Reacted::default()
        },
    }
}

/// The conversation of `change`, when one of `reactions` needs it (the frames, the bot).
async fn conversation_for(
    backend: &Backend,
    change: &StoredChange,
    reactions: &[Reaction],
) -> Result<Option<Conversation>, StoreError> {
    let needed = reactions
        .iter()
        .any(|r| matches!(r, Reaction::Frames | Reaction::BuiltInBot));
    match conversation_needed(change).filter(|_| needed) {
        Some((account_id, conversation_id)) => {
            backend
                .store
                .get_conversation(account_id, conversation_id)
                .await
        }
        None => Ok(None),
    }
}

async fn run_each(
    backend: &Backend,
    change: &StoredChange,
    reactions: &[Reaction],
    conversation: Option<&Conversation>,
    now: i64,
) -> Reacted {
    let mut reacted = Reacted::default();
    for &reaction in reactions {
        match run(backend, reaction, change, conversation, now).await {
            Ok((frames, gone)) => {
                reacted.frames += frames;
                reacted.gone += gone;
            }
            Err(error) => {
                tracing::warn!(?reaction, %error, "stream reaction failed");
                reacted.failed.push((reaction, error));
            }
        }
    }
    reacted
}

/// One reaction; answers (frames pushed, connections gone) for the frames, zeros otherwise.
async fn run(
    backend: &Backend,
    reaction: Reaction,
    change: &StoredChange,
    conversation: Option<&Conversation>,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let store = backend.store.as_ref();
    let done = match reaction {
        Reaction::Frames => return frames(backend, change, conversation, now).await,
        Reaction::Workspace => done(crate::agent_workspace::follow_up(store, change).await),
        Reaction::BuiltInBot => {
            let indexes = backend.knowledge_indexes.as_ref();
            let answered =
                crate::built_in_bot::answer(store, (backend, indexes), change, conversation, now);
            done(answered.await)
        }
        Reaction::Satisfaction => {
            done(crate::satisfaction::send_after_end(store, change, now).await)
        }
        Reaction::AwayMessage => {
            done(crate::away_message::post_if_closed(store, backend, change, now).await)
        }
        Reaction::IdleCheck => {
            let queue = backend.routing_queue.as_ref();
            done(crate::idle_checks::schedule_after(backend, queue, change, now).await)
        }
        Reaction::EmailFollowup => {
            let queue = backend.routing_queue.as_ref();
            done(crate::email::followup::schedule_after(backend, queue, change).await)
        }
        Reaction::Webhooks => {
            let queue = backend.webhook_queue.as_ref();
            done(crate::webhook_delivery::enqueue(store, queue, change, now).await)
        }
        Reaction::Expiry => done(crate::conversation_expiry::keep_expiry(store, change).await),
        Reaction::Purge => {
            let queue = backend.attachment_events_queue.as_ref();
            let purged = crate::conversation_expiry::purge_expired(store, queue, change, now).await;
            continue_purge(backend, change, purged?).await
        }
        Reaction::Reports => done(crate::reports::count_change(backend, change).await),
        Reaction::PurgeRest => {
            let purged = crate::conversation_expiry::purge_rest(store, change, now).await;
            continue_purge(backend, change, purged?).await
        }
    };
    done.map(|()| (0, 0))
}

/// A purge that left items behind continues in a job of its own on the reactions queue.
async fn continue_purge(
    backend: &Backend,
    change: &StoredChange,
    purged: Option<domain::retention::Purged>,
) -> Result<(), StoreError> {
    match purged {
        Some(purged) if !purged.done => {
            // At once: it is not a failure, only more work.
            queue_jobs(backend, change, &[Reaction::PurgeRest], 0).await
        }
        _ => Ok(()),
    }
}

/// A reaction's outcome, whatever it answered.
fn done<T, E: Into<StoreError>>(outcome: Result<T, E>) -> Result<(), StoreError> {
    outcome.map(drop).map_err(Into::into)
}

/// The change's events, pushed to every connection allowed to see each; a new message its
/// writer already pushed is left alone.
async fn frames(
    backend: &Backend,
    change: &StoredChange,
    conversation: Option<&Conversation>,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let (store, push) = (backend.store.as_ref(), backend.push.as_ref());
    let (mut frames, mut gone) = (0, 0);
    for delivery in events_of(change, conversation) {
        let new_message = match &delivery.event {
            Event::MessageCreated(m) => Some(m.as_ref()),
            _ => None,
        };
        if let Some(m) = new_message {
            if pushed_by_its_writer(m) && crate::realtime::writer_reported_push(store, m).await? {
                continue;
            }
        }
        let (f, g) = crate::realtime::deliver(store, push, &delivery, now).await?;
        // Pushed to someone: the next writer of the conversation may push at once. (Nobody
        // listening: nothing is written, and its writers keep to the stream.)
        if let Some(m) = new_message.filter(|_| f > 0) {
            store
                .advance_push_cursor(&m.account_id, &m.conversation_id, m.seq, true)
                .await?;
        }
        frames += f;
        gone += g;
    }
    Ok((frames, gone))
}

/// What a fan-out of a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOutReport {
    pub changes: usize,
    pub frames: usize,
    pub gone: usize,
    /// Reactions that failed and were queued to be retried on their own.
    pub retried: usize,
}

/// A change that failed as a whole (retryable): its frames could not be pushed (R27 keeps a
/// conversation's frames in order, so they are retried in place, before anything after them),
/// or its failed reactions could not even be queued. The changes before it are done; it and
/// those after it are not.
#[derive(Debug, Error)]
#[error("fan-out of change {index} failed: {error}")]
pub struct FanOutError {
    pub index: usize,
    pub report: FanOutReport,
    #[source]
    pub error: StoreError,
}

/// Reacts to `changes`, in order: each change's frames first (a failure there fails the change,
/// to be retried in order), then every other reaction, each on its own; one that fails is
/// queued as a job of its own and the fan-out goes on.
pub async fn fan_out(
    backend: &Backend,
    changes: &[StoredChange],
    now: i64,
) -> Result<FanOutReport, FanOutError> {
    let mut report = FanOutReport::default();
    for (index, change) in changes.iter().enumerate() {
        let fail = |report, error| FanOutError {
            index,
            report,
            error,
        };
        let conversation = match conversation_for(backend, change, &Reaction::ALL).await {
            Ok(conversation) => conversation,
            Err(error) => return Err(fail(report, error)),
        };
        let conversation = conversation.as_ref();
        let frames = [Reaction::Frames];
        let pushed = run_each(backend, change, &frames, conversation, now).await;
        if let Some((_, error)) = pushed.failed.into_iter().next() {
            return Err(fail(report, error));
        }
        report.frames += pushed.frames;
        report.gone += pushed.gone;
        let others = &Reaction::ALL[1..];
        let reacted = run_each(backend, change, others, conversation, now).await;
        if !reacted.failed.is_empty() {
            let reactions: Vec<Reaction> = reacted.failed.iter().map(|(r, _)| *r).collect();
            if let Err(error) = queue_retries(backend, change, &reactions).await {
                return Err(fail(report, error));
            }
            report.retried += reactions.len();
        }
        report.changes += 1;
    }
    Ok(report)
}

/// Queues one job per reaction of `change` to run again.
pub async fn queue_retries(
    backend: &Backend,
    change: &StoredChange,
    reactions: &[Reaction],
) -> Result<(), StoreError> {
    queue_jobs(backend, change, reactions, FIRST_RETRY_DELAY_SECS).await
}

async fn queue_jobs(
    backend: &Backend,
    change: &StoredChange,
    reactions: &[Reaction],
    delay_seconds: u32,
) -> Result<(), StoreError> {
    let mut jobs = Vec::new();
    for &reaction in reactions {
        let job = ReactionJob {
            reaction,
            change: change.clone(),
        };
        let body = serde_json::to_string(&job)
            .map_err(|e| StoreError::Internal(format!("reaction job: {e}")))?;
        jobs.push((body, delay_seconds));
    }
    backend.reactions_queue.send_batch(&jobs).await
}

/// Runs the reaction jobs of one batch of the reactions queue; answers the ids of the jobs
/// that failed again, each made to wait `retry_delay_secs` before its next attempt (the
/// queue moves it to the failure queue after its last).
pub async fn retry_batch(backend: &Backend, batch: &[ReceivedMessage], now: i64) -> Vec<String> {
    let failed =
        crate::batch::run_batch("stream-reactions", batch, |job: ReactionJob| async move {
            let reacted = react(backend, &job.change, &[job.reaction], now).await;
            match reacted.failed.into_iter().next() {
                Some((_, error)) => Err(error),
                None => Ok(()),
            }
        })
        .await;
    for message in batch.iter().filter(|m| failed.contains(&m.message_id)) {
        let wait = retry_delay_secs(message.receive_count);
        let queue = backend.reactions_queue.as_ref();
        if let Err(error) = queue.retry_after(&message.receipt, wait).await {
            // It comes back after the queue's visibility timeout instead.
            tracing::warn!(%error, "could not schedule a reaction's next attempt");
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::realtime::Stored;

    #[test]
    fn a_job_survives_its_queue_body() {
        let conversation = domain::rules::new_conversation(
            "acct-1",
            "eu-1",
            &domain::settings::Settings::default(),
            1_795_000_000_000,
        );
        let job = ReactionJob {
            reaction: Reaction::Webhooks,
            change: StoredChange {
                before: None,
                after: Some(Stored::Conversation(Box::new(conversation))),
            },
        };
        let body = serde_json::to_string(&job).unwrap();
        assert!(body.contains("\"reaction\":\"webhooks\""), "{body}");
        assert_eq!(serde_json::from_str::<ReactionJob>(&body).unwrap(), job);
    }

    #[test]
    fn retries_wait_longer_each_time() {
        let waits: Vec<u32> = (1..=5).map(retry_delay_secs).collect();
        assert_eq!(waits, vec![2, 10, 30, 60, 60]);
    }
}
