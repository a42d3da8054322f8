//! The WebSocket API locally (`ws://…/v1/realtime?token=…`), as API Gateway's WebSocket API and
//! the `realtime` function serve it on AWS, and the fan-out run as Lambda runs it from the
//! table's change stream.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::StatusCode;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame, Role};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

use adapters::memory::{MemoryPush, Outgoing};
use domain::realtime::{StoredChange, MAX_CLIENT_FRAME_BYTES};
use edge::api::ApiError;
use use_cases::backend::Backend;
use use_cases::ports::ChangeFeed;
use use_cases::realtime;
use use_cases::stream_reactions;

/// The path of the WebSocket API.
pub const REALTIME_PATH: &str = "/v1/realtime";

/// The largest message a client may send; a larger one closes the connection (1009), as API
/// Gateway does beyond its own limit.
const MAX_MESSAGE_BYTES: usize = MAX_CLIENT_FRAME_BYTES;

/// Whether a request asks to become a WebSocket.
pub fn is_upgrade(request: &hyper::Request<Incoming>) -> bool {
    request
        .headers()
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn refuse(error: ApiError) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = edge::api::error_response(&error).into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::from(body)))
}

/// `$connect`: the token (query `token`, browsers cannot set headers on a WebSocket) is checked
/// before the upgrade; a bad one is 401 and no socket is opened.
pub async fn upgrade(
    backend: Backend,
    sockets: Arc<MemoryPush>,
    mut request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let Some(key) = request.headers().get("sec-websocket-key").cloned() else {
        return refuse(ApiError::invalid_request("not a WebSocket handshake"));
    };
    let token = edge::websocket::token_of_query(request.uri().query());
    let connection_id = domain::ids::new_id("ws");
    if let Err(refused) = edge::websocket::open_connection(
        &backend,
        token.as_deref(),
        request.headers(),
        &connection_id,
    )
    .await
    {
        return refuse(refused);
    }
    let outgoing = sockets.open(&connection_id);
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(upgraded) => {
                let config = tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(Some(MAX_MESSAGE_BYTES))
                    .max_frame_size(Some(MAX_MESSAGE_BYTES));
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                run_socket(&backend, &connection_id, socket, outgoing).await;
            }
            Err(error) => tracing::debug!(%error, "upgrade failed"),
        }
        sockets.closed(&connection_id);
        if let Err(error) = realtime::disconnect(backend.store.as_ref(), &connection_id).await {
            tracing::warn!(%error, connection_id, "disconnect failed");
        }
    });
    hyper::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::CONNECTION, "upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

/// `$default` and the pushes of one connection, until either side closes.
async fn run_socket(
    backend: &Backend,
    connection_id: &str,
    socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
) {
    let (mut sink, mut incoming) = socket.split();
    loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(WsMessage::Text(text))) => {
                    let handled = realtime::on_client_frame(
                        backend.store.as_ref(),
                        backend.push.as_ref(),
                        connection_id,
                        text.as_str(),
                        domain::now_ms(),
                    )
                    .await;
                    if let Err(error) = handled {
                        tracing::warn!(%error, connection_id, "client frame failed");
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    let refused = realtime::refuse_binary_frame(
                        backend.push.as_ref(), connection_id, domain::now_ms()).await;
                    if let Err(error) = refused {
                        tracing::warn!(%error, connection_id, "refusing a binary frame failed");
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None => return,
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    // Too large, or not WebSocket at all: close as API Gateway would.
                    let code = match error {
                        tungstenite::Error::Capacity(_) => CloseCode::Size,
                        _ => CloseCode::Protocol,
                    };
                    let _ = sink
                        .send(WsMessage::Close(Some(CloseFrame { code, reason: "".into() })))
                        .await;
                    return;
                }
            },
            pushed = outgoing.recv() => match pushed {
                Some(Outgoing::Frame(frame)) => {
                    if sink.send(WsMessage::text(frame)).await.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    return;
                }
            },
        }
    }
}

/// How long a failed batch waits before it is tried again (Lambda retries a stream batch).
const FAN_OUT_RETRY: Duration = Duration::from_millis(200);

/// Attempts of a change that keeps failing as a whole, as the template's event source mapping
/// allows (`MaximumRetryAttempts: 5` after the first), before it is given up.
pub const FAN_OUT_ATTEMPTS: u32 = 6;

/// Runs the fan-out over `feed` for as long as the runtime does, as Lambda's stream event
/// source mapping does with partial batch responses: each batch of changes in order; a
/// reaction that fails is queued on its own (`stream_reactions`, consumed beside the other
/// queues); a change that fails as a whole (its frames, which keep their conversation's order,
/// or its retries could not be queued) is tried again with those after it, at most
/// `FAN_OUT_ATTEMPTS` times, then its reactions are queued as jobs (or, when even that fails,
/// it is dropped with an error in the log; on AWS the on-failure destination keeps its
/// description), and the next goes on.
pub fn spawn_fan_out(backend: Backend, feed: Arc<dyn ChangeFeed>) {
    tokio::spawn(async move {
        loop {
            let changes = match feed.next_changes(Duration::from_secs(1)).await {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "reading the change feed failed");
                    tokio::time::sleep(FAN_OUT_RETRY).await;
                    continue;
                }
            };
            fan_out_with_retries(&backend, changes, FAN_OUT_RETRY).await;
        }
    });
}

/// Fans `changes` out, retrying a failed change (with those after it) up to
/// `FAN_OUT_ATTEMPTS` times each; answers how many changes were given up.
pub async fn fan_out_with_retries(
    backend: &Backend,
    mut changes: Vec<StoredChange>,
    pause: Duration,
) -> usize {
    let (mut attempts, mut given_up) = (0, 0);
    while !changes.is_empty() {
        match stream_reactions::fan_out(backend, &changes, domain::now_ms()).await {
            Ok(_) => changes.clear(),
            Err(failed) => {
                changes.drain(..failed.index);
                attempts += 1;
                if attempts >= FAN_OUT_ATTEMPTS {
                    // Its reactions go to the reactions queue, frames included (late, but not
                    // lost); only when even that fails is the change dropped, with an error.
                    let change = changes.remove(0);
                    let queued = stream_reactions::queue_retries(
                        backend,
                        &change,
                        &stream_reactions::Reaction::ALL,
                    )
                    .await;
                    tracing::error!(error = %failed.error, attempts, queued = queued.is_ok(), "fan-out gave a change up");
                    given_up += 1;
                    attempts = 0;
                } else {
                    tracing::warn!(error = %failed.error, attempts, "fan-out failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
    given_up
}
