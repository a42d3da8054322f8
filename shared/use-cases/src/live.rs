//! Real time (R27): connecting and disconnecting, the frames a client sends, and the fan-out of
//! stored changes to the connections allowed to see them.
//!
//! The fan-out is driven by the table's change stream (on AWS, the `fan-out` function; locally,
//! the gateway reading the same stream or the memory store's feed), so a crash between a write
//! and its push loses nothing: the stream hands the change over again. Frames carry ids that do
//! not change between deliveries, so a client drops copies. A new message goes faster when it
//! can: its writer pushes it at once (`push_from_writer`, `realtime::direct`) and the fan-out
//! leaves it to that writer.

use std::collections::BTreeMap;

use futures::future::join_all;
use thiserror::Error;

use crate::error::StoreError;
use crate::model::{Conversation, Message, Role};
use crate::ports::{Connection, ConnectionStore, Push, PushOutcome, Store};
use crate::realtime::{
    conversation_needed, error_frame, events_of, may_receive, message_created, parse_client_frame,
    pong_frame, pushed_by_its_writer, server_frame, typing_relay, Audience, ClientFrame, Delivery,
    Event, Listener, StoredChange, CONNECTION_TTL_SECS, WRITER_PUSH_GRACE_MS,
};

/// Live connections by id: whom an event reaches.
pub type Reach = BTreeMap<String, Connection>;

/// Why a connection was refused.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("the account holds its maximum of connections")]
    TooManyConnections,
    /// R33: this listener holds its maximum of connections.
    #[error("this caller holds its maximum of {0} connections; close one first")]
    ListenerQuota(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records a new connection for `listener` (its token was verified before the upgrade).
pub async fn connect(
    connections: &dyn ConnectionStore,
    listener: Listener,
    connection_id: &str,
    now: i64,
    limits: &crate::backend::Limits,
) -> Result<Connection, ConnectError> {
    // R33 first: one listener's connections are few and listed together.
    let held = connections.connections_of(&listener).await?.len();
    if held >= limits.max_connections_per_listener {
        return Err(ConnectError::ListenerQuota(
            limits.max_connections_per_listener,
        ));
    }
    let connection = Connection {
        id: connection_id.to_string(),
        listener,
        connected_at: now,
        expires_at: now / 1000 + CONNECTION_TTL_SECS,
    };
    if connections
        .add_connection(&connection, limits.max_connections_per_account)
        .await?
    {
        tracing::info!(
            connection_id,
            account_id = %connection.listener.account_id,
            role = connection.listener.role.as_str(),
            "connected"
        );
        Ok(connection)
    } else {
        Err(ConnectError::TooManyConnections)
    }
}

/// Forgets a connection (the client went, or the server closed it).
pub async fn disconnect(
    connections: &dyn ConnectionStore,
    connection_id: &str,
) -> Result<(), StoreError> {
    connections.remove_connection(connection_id).await?;
    tracing::info!(connection_id, "disconnected");
    Ok(())
}

/// Handles one client frame of a live connection; answers go through `push`. A bad frame gets
/// an `error` frame; the connection stays open.
pub async fn on_client_frame(
    store: &dyn Store,
    push: &dyn Push,
    connection_id: &str,
    text: &str,
    now: i64,
) -> Result<(), StoreError> {
    let Some(connection) = store.get_connection(connection_id).await? else {
        // Expired or removed meanwhile: the client must connect again.
        push.close(connection_id).await?;
        return Ok(());
    };
    let reply = match parse_client_frame(text) {
        Err(error) => Some(error_frame(400, error.code(), "frame refused", now)),
        Ok(ClientFrame::Ping {}) => Some(pong_frame(now)),
        Ok(ClientFrame::Typing {
            conversation_id,
            state,
        }) => {
            let listener = &connection.listener;
            let conversation = store
                .get_conversation(&listener.account_id, &conversation_id)
                .await?;
            match conversation.and_then(|c| typing_relay(&c, listener, state, now)) {
                Some(delivery) => {
                    deliver(store, push, &delivery, now).await?;
                    None
                }
                None => Some(not_found(now)),
            }
        }
        Ok(ClientFrame::Subscribe { conversation_id }) => {
            subscribe(store, &connection, &conversation_id, now).await?
        }
        Ok(ClientFrame::Unsubscribe { conversation_id }) => {
            store.unsubscribe(&connection, &conversation_id).await?;
            None
        }
    };
    if let Some(reply) = reply {
        if push.push(connection_id, &reply).await? == PushOutcome::Gone {
            store.remove_connection(connection_id).await?;
        }
    }
    Ok(())
}

/// Answers a binary frame: frames are JSON text (the connection stays open).
pub async fn refuse_binary_frame(
    push: &dyn Push,
    connection_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let refused = error_frame(400, "invalid_frame", "frames are JSON text", now);
    push.push(connection_id, &refused).await.map(|_| ())
}

fn not_found(now: i64) -> String {
    error_frame(404, "not_found", "no such conversation", now)
}

/// Staff may follow any conversation of their account; end users hear of their own anyway.
async fn subscribe(
    store: &dyn Store,
    connection: &Connection,
    conversation_id: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let listener = &connection.listener;
    if !listener.role.is_staff() {
        return Ok(Some(error_frame(
            403,
            "forbidden",
            "only staff subscribe to conversations",
            now,
        )));
    }
    if store
        .get_conversation(&listener.account_id, conversation_id)
        .await?
        .is_none()
    {
        return Ok(Some(not_found(now)));
    }
    store.subscribe(connection, conversation_id).await?;
    Ok(None)
}

/// What a fan-out of a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOutReport {
    pub changes: usize,
    pub frames: usize,
    pub gone: usize,
}

/// A change whose fan-out failed (retryable): the changes before it are delivered, it and
/// those after it are not.
#[derive(Debug, Error)]
#[error("fan-out of change {index} failed: {error}")]
pub struct FanOutError {
    pub index: usize,
    pub report: FanOutReport,
    #[source]
    pub error: StoreError,
}

/// Delivers the events of `changes`, in order, to every connection allowed to see each (and
/// runs the workspace's follow-ups of each change first, `agent_workspace::follow_up`).
pub async fn fan_out(
    backend: &crate::Backend,
    changes: &[StoredChange],
    now: i64,
) -> Result<FanOutReport, FanOutError> {
    let mut report = FanOutReport::default();
    for (index, change) in changes.iter().enumerate() {
        let delivered = fan_out_one(backend, change, now).await;
        match delivered {
            Ok((frames, gone)) => {
                report.changes += 1;
                report.frames += frames;
                report.gone += gone;
            }
            Err(error) => {
                return Err(FanOutError {
                    index,
                    report,
                    error,
                })
            }
        }
    }
    Ok(report)
}

async fn fan_out_one(
    backend: &crate::Backend,
    change: &StoredChange,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let (store, push) = (backend.store.as_ref(), backend.push.as_ref());
    // The inbox's activity order, the ticket history, the built-in bot's turn, the
    // satisfaction survey, the away message, idle checks and retention ride on the same
    // stream; a new message's conversation is read once for the bot and the frames.
    crate::agent_workspace::follow_up(store, change).await?;
    let conversation = match conversation_needed(change) {
        Some((account_id, conversation_id)) => {
            store.get_conversation(account_id, conversation_id).await?
        }
        None => None,
    };
    crate::built_in_bot::answer(store, change, conversation.as_ref(), now).await?;
    // R6's survey follows a session's end notice.
    crate::satisfaction::send_after_end(store, change, now).await?;
    // A handoff outside business hours gets the away message.
    crate::away_message::post_if_closed(store, change, now).await?;
    // An end user's message schedules the session's idle check (with an idle timeout).
    crate::idle_checks::schedule_after(store, backend.routing_queue.as_ref(), change, now).await?;
    // R29: webhook events are queued from the stream, so a crash after a write loses none.
    crate::webhook_delivery::enqueue(store, backend.webhook_queue.as_ref(), change, now).await?;
    // Retention: a conversation at rest carries its expiry; one the TTL removed is purged.
    crate::conversation_expiry::keep_expiry(store, change).await?;
    let attachment_queue = backend.attachment_events_queue.as_ref();
    crate::conversation_expiry::purge_expired(store, attachment_queue, change, now).await?;
    let (mut frames, mut gone) = (0, 0);
    for delivery in events_of(change, conversation.as_ref()) {
        let new_message = match &delivery.event {
            Event::MessageCreated(m) => Some(m.as_ref()),
            _ => None,
        };
        if let Some(m) = new_message {
            if pushed_by_its_writer(m) && writer_reported_push(store, m).await? {
                continue;
            }
        }
        let (f, g) = deliver(store, push, &delivery, now).await?;
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

/// R27's fast path, from the request that stored `message` in `conversation`: when it found
/// every earlier message pushed (`realtime::pushed_by_its_writer`), it pushes
/// `message.created` to everyone of the conversation at once, then moves the push cursor, so
/// that the fan-out leaves it alone and the next writer may push at once too (unless it reached
/// nobody: then the next ones take the stream, which writes no cursor for them). Any other
/// message is the change stream's to push, after the ones before it. `reach` is what
/// [`writer_reach`] found while the message was stored (`None`: the writer had not decided to
/// push). Answers the frames pushed. On an error the cursor stays, and the fan-out pushes the
/// message after its grace.
pub async fn push_from_writer(
    store: &dyn Store,
    push: &dyn Push,
    conversation: &Conversation,
    message: &Message,
    reach: Option<Result<Reach, StoreError>>,
    now: i64,
) -> Result<usize, StoreError> {
    let Some(reach) = reach.filter(|_| pushed_by_its_writer(message)) else {
        return Ok(0);
    };
    let reach = reach?;
    // A writer already late leaves it to the fan-out, whose grace would run out during its
    // push and send a second copy.
    if crate::now_ms() - message.created_at >= WRITER_PUSH_GRACE_MS / 2 {
        return Ok(0);
    }
    let delivery = message_created(conversation, message);
    let (frames, _) = deliver_to(store, push, &delivery, &reach, now).await?;
    let heard = frames > 0;
    store
        .advance_push_cursor(
            &message.account_id,
            &message.conversation_id,
            message.seq,
            heard,
        )
        .await?;
    Ok(frames)
}

/// Whom a message about to be stored in `conversation` would reach, when its writer decided to
/// push it (`None` otherwise): looked up beside the append, so the push costs no extra round
/// trip for it.
pub async fn writer_reach(
    store: &dyn Store,
    conversation: &Conversation,
    message: &Message,
) -> Option<Result<Reach, StoreError>> {
    message.direct_push_seq?;
    Some(reach_of(store, &message_created(conversation, message).audience).await)
}

/// Waits, up to the grace after `m` was written, for its writer to report its push (the push
/// cursor reaching `m`); `false` when it has not (it failed or died after writing), and the
/// fan-out pushes `m` itself. A writer reports within tens of milliseconds of its write, and
/// on AWS the stream brings the record later than that, so the first look usually answers;
/// later looks back off (each is a read, and the records behind this one wait).
async fn writer_reported_push(store: &dyn Store, m: &Message) -> Result<bool, StoreError> {
    let mut pause_ms = 20;
    loop {
        let cursor = store.push_cursor(&m.account_id, &m.conversation_id).await?;
        if cursor.through_seq >= m.seq {
            return Ok(true);
        }
        let left = m.created_at + WRITER_PUSH_GRACE_MS - crate::now_ms();
        if left <= 0 {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(pause_ms.min(left) as u64)).await;
        pause_ms *= 2;
    }
}

/// Pushes one event to every live connection of its audience that may receive it, all at
/// once; connections found gone are removed. Answers (frames pushed, connections gone).
pub async fn deliver(
    store: &dyn Store,
    push: &dyn Push,
    delivery: &Delivery,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let targets = reach_of(store, &delivery.audience).await?;
    deliver_to(store, push, delivery, &targets, now).await
}

/// The live connections an audience reaches, by id (an assignee who also subscribed gets one
/// copy); its lookups go out together.
async fn reach_of(store: &dyn Store, audience: &Audience) -> Result<Reach, StoreError> {
    let listeners = join_all(audience.listeners.iter().map(|l| store.connections_of(l)));
    let subscribers = async {
        match &audience.subscribers_of {
            Some(cid) => store.subscribers_of(&audience.account_id, cid).await,
            None => Ok(Vec::new()),
        }
    };
    let (listeners, subscribers) = futures::join!(listeners, subscribers);
    let mut targets = Reach::new();
    for connections in listeners.into_iter().chain([subscribers]) {
        for connection in connections? {
            targets.insert(connection.id.clone(), connection);
        }
    }
    Ok(targets)
}

/// [`deliver`] to connections already looked up.
async fn deliver_to(
    store: &dyn Store,
    push: &dyn Push,
    delivery: &Delivery,
    targets: &Reach,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let audience = &delivery.audience;
    let mut frames: BTreeMap<bool, String> = BTreeMap::new();
    let mut sends = Vec::new();
    for connection in targets.values() {
        if !may_receive(&connection.listener, audience, &delivery.event) {
            continue;
        }
        // Two renderings at most: what end users see and what staff see.
        let staff = connection.listener.role.is_staff();
        let role = if staff { Role::Agent } else { Role::EndUser };
        let frame = frames
            .entry(staff)
            .or_insert_with(|| server_frame(&delivery.event, role, now))
            .clone();
        sends.push(async move { (connection, push.push(&connection.id, &frame).await) });
    }
    let (mut pushed, mut gone) = (0, 0);
    let mut failure = None;
    for (connection, outcome) in join_all(sends).await {
        match outcome {
            Ok(PushOutcome::Delivered) => pushed += 1,
            Ok(PushOutcome::Gone) => {
                gone += 1;
                store.remove_connection(&connection.id).await?;
            }
            Err(error) => failure = Some(error),
        }
    }
    match failure {
        // Some readers did not get it: the change is retried (the others drop the copy).
        Some(error) => Err(error),
        None => Ok((pushed, gone)),
    }
}
