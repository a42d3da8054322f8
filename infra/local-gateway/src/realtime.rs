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

use shared::adapters::memory::{MemoryPush, Outgoing};
use shared::api::ApiError;
use shared::backend::Backend;
use shared::live;
use shared::ports::ChangeFeed;
use shared::realtime::MAX_CLIENT_FRAME_BYTES;

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
    let (parts, body) = shared::api::error_response(&error).into_parts();
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
    let token = shared::websocket::token_of_query(request.uri().query());
    let connection_id = shared::ids::new_id("ws");
    if let Err(refused) = shared::websocket::open_connection(
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
        if let Err(error) = live::disconnect(backend.store.as_ref(), &connection_id).await {
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
                    let handled = live::on_client_frame(
                        backend.store.as_ref(),
                        backend.push.as_ref(),
                        connection_id,
                        text.as_str(),
                        shared::now_ms(),
                    )
                    .await;
                    if let Err(error) = handled {
                        tracing::warn!(%error, connection_id, "client frame failed");
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    let refused = live::refuse_binary_frame(
                        backend.push.as_ref(), connection_id, shared::now_ms()).await;
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

/// Runs the fan-out over `feed` for as long as the runtime does: each batch of changes in
/// order, a failed change retried (with those after it) until it goes through, as Lambda's
/// stream event source mapping does with partial batch responses.
pub fn spawn_fan_out(backend: Backend, feed: Arc<dyn ChangeFeed>) {
    tokio::spawn(async move {
        loop {
            let mut changes = match feed.next_changes(Duration::from_secs(1)).await {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "reading the change feed failed");
                    tokio::time::sleep(FAN_OUT_RETRY).await;
                    continue;
                }
            };
            while !changes.is_empty() {
                match live::fan_out(&backend, &changes, shared::now_ms()).await {
                    Ok(_) => changes.clear(),
                    Err(failed) => {
                        tracing::warn!(error = %failed.error, "fan-out failed; retrying");
                        changes.drain(..failed.index);
                        tokio::time::sleep(FAN_OUT_RETRY).await;
                    }
                }
            }
        }
    });
}
