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
use crate::ports::{Connection, ConnectionStore, ConversationStore, Push, PushOutcome, Store};
use domain::model::{Conversation, Message, Role};
use domain::realtime::{
    error_frame, may_receive, message_created, parse_client_frame, pong_frame,
    pushed_by_its_writer, server_frame, typing_relay, Audience, ClientFrame, Delivery, Listener,
    CONNECTION_TTL_SECS, WRITER_PUSH_GRACE_MS,
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
    store: &(impl ConnectionStore + ConversationStore + ?Sized),
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
    if domain::now_ms() - message.created_at >= WRITER_PUSH_GRACE_MS / 2 {
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
pub(crate) async fn writer_reported_push(
    store: &(impl ConnectionStore + ?Sized),
    m: &Message,
) -> Result<bool, StoreError> {
    let mut pause_ms = 20;
    loop {
        let cursor = store.push_cursor(&m.account_id, &m.conversation_id).await?;
        if cursor.through_seq >= m.seq {
            return Ok(true);
        }
        let left = m.created_at + WRITER_PUSH_GRACE_MS - domain::now_ms();
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
async fn reach_of(
    store: &(impl ConnectionStore + ?Sized),
    audience: &Audience,
) -> Result<Reach, StoreError> {
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
    store: &(impl ConnectionStore + ?Sized),
    push: &dyn Push,
    delivery: &Delivery,
    targets: &Reach,
    now: i64,
) -> Result<(usize, usize), StoreError> {
    let audience = &delivery.audience;
    let readers: Vec<&Connection> = targets
        .values()
        .filter(|c| may_receive(&c.listener, audience, &delivery.event))
        .collect();
    // Two renderings at most: what end users see and what staff see, each lent to every
    // connection that gets it.
    let rendered = |staff: bool| {
        if readers.iter().any(|c| c.listener.role.is_staff() == staff) {
            let role = if staff { Role::Agent } else { Role::EndUser };
            server_frame(&delivery.event, role, now)
        } else {
            String::new()
        }
    };
    let (for_staff, for_end_users) = (rendered(true), rendered(false));
    let sends = readers.into_iter().map(|connection| {
        let frame = if connection.listener.role.is_staff() {
            for_staff.as_str()
        } else {
            for_end_users.as_str()
        };
        async move { (connection, push.push(&connection.id, frame).await) }
    });
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
