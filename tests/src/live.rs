//! A real WebSocket client of the gateway's real-time API, and the gateway that runs the
//! fan-out from the emulator's change stream (as Lambda runs it on AWS).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use adapters::memory::{MemoryPush, Outgoing};
use domain::realtime::{Stored, StoredChange};
use use_cases::backend::Limits;
use use_cases::ports::ChangeFeed;
use use_cases::StoreError;

use crate::{emulator_config, provisioned, TestApp};

/// The change stream of the shared emulator table, narrowed to one app's accounts: tests run
/// in parallel on one table, and each app's fan-out has no business with the others' changes.
struct AccountsFeed {
    feed: Arc<dyn ChangeFeed>,
    accounts: Vec<String>,
}

fn account_of(stored: &Option<Stored>) -> Option<&str> {
    match stored {
        Some(Stored::Conversation(c)) => Some(&c.account_id),
        Some(Stored::Message(m)) => Some(&m.account_id),
        Some(Stored::Rating(r)) => Some(&r.account_id),
        None => None,
    }
}

#[async_trait::async_trait]
impl ChangeFeed for AccountsFeed {
    async fn next_changes(&self, wait: Duration) -> Result<Vec<StoredChange>, StoreError> {
        let changes = self.feed.next_changes(wait).await?;
        Ok(changes
            .into_iter()
            .filter(|c| {
                account_of(&c.after)
                    .or_else(|| account_of(&c.before))
                    .is_some_and(|a| self.accounts.iter().any(|mine| mine == a))
            })
            .collect())
    }
}

impl TestApp {
    /// A gateway on the emulator that also runs the fan-out from the table's change stream,
    /// so its WebSocket clients get pushed frames. The router stays off (`run_router`).
    pub async fn start_live() -> TestApp {
        Self::start_live_with(&crate::endpoint(), Limits::default()).await
    }

    /// [`TestApp::start_live`] whose functions (the fan-out included) reach AWS through
    /// `aws_endpoint` (a fault proxy), with `limits`. The stream itself is read from the
    /// emulator, as Lambda reads it on AWS.
    pub async fn start_live_with(aws_endpoint: &str, limits: Limits) -> TestApp {
        Self::start_live_with_consumers(
            aws_endpoint,
            limits,
            local_gateway::Consumers {
                router: false,
                webhooks: crate::QUICK_WEBHOOKS,
            },
        )
        .await
    }

    /// The whole product on the emulator, as `cargo run -p local-gateway` runs it: the fan-out
    /// and every queue consumer, the router included (what the browser tests use).
    pub async fn start_product() -> TestApp {
        Self::start_live_with_consumers(
            &crate::endpoint(),
            Limits::default(),
            local_gateway::Consumers {
                router: true,
                webhooks: crate::QUICK_WEBHOOKS,
            },
        )
        .await
    }

    async fn start_live_with_consumers(
        aws_endpoint: &str,
        limits: Limits,
        consumers: local_gateway::Consumers,
    ) -> TestApp {
        let mut app = TestApp::start_at(aws_endpoint).await;
        let feed = adapters::wiring::stream_feed(
            &emulator_config().await,
            &provisioned().await.table_stream_arn,
        )
        .await
        .expect("the table's change stream");
        let mut backend = app.backend.clone();
        backend.limits = limits;
        let local = local_gateway::Local {
            bucket: None,
            mailbox: None,
            changes: Some(Arc::new(AccountsFeed {
                feed,
                accounts: vec![app.account.id.clone(), app.other_account.id.clone()],
            })),
        };
        let (addr, _server) = local_gateway::start_with(
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            backend.clone(),
            local,
            consumers,
        )
        .await
        .expect("bind a loopback port");
        app.base_url = format!("http://{addr}");
        app.backend = backend;
        app
    }

    /// The WebSocket URL of the real-time API with `token`.
    pub fn live_url(&self, token: &str) -> String {
        format!(
            "{}/v1/realtime?token={token}",
            self.base_url.replacen("http://", "ws://", 1)
        )
    }

    /// Connects a WebSocket client with `token` (panics when refused; see `try_connect`).
    pub async fn connect(&self, token: &str) -> LiveClient {
        match self.try_connect(token).await {
            Ok(client) => client,
            Err(status) => panic!("WebSocket upgrade refused with {status}"),
        }
    }

    /// Connects a WebSocket client, or answers the HTTP status the upgrade was refused with.
    pub async fn try_connect(&self, token: &str) -> Result<LiveClient, u16> {
        self.try_connect_from(token, None).await
    }

    /// Connects as a browser page of `origin` would (its `Origin` header on the handshake).
    pub async fn try_connect_from(
        &self,
        token: &str,
        origin: Option<&str>,
    ) -> Result<LiveClient, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self
            .live_url(token)
            .into_client_request()
            .expect("a WebSocket request");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("an origin header"));
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(LiveClient { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("WebSocket connection failed: {error}"),
        }
    }
}

/// One connected client.
pub struct LiveClient {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What a client read.
#[derive(Debug)]
pub enum Received {
    Frame(Value),
    Closed(Option<u16>),
}

impl LiveClient {
    /// Closes the connection from the client side.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket
            .send(WsMessage::text(text))
            .await
            .expect("send a frame");
    }

    /// Sends a `ping` and waits for its `pong`: the gateway handles one connection's frames
    /// in order, so every frame sent before has been handled (a subscription is in place).
    /// Frames that arrive meanwhile are dropped.
    pub async fn round_trip(&mut self) {
        self.send(serde_json::json!({"action": "ping"})).await;
        self.expect("pong", Duration::from_secs(10)).await;
    }

    /// The next frame or close within `wait`; `None` when nothing came.
    pub async fn receive(&mut self, wait: Duration) -> Option<Received> {
        loop {
            let message = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Received::Closed(None)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                WsMessage::Text(text) => {
                    let frame = serde_json::from_str(text.as_str()).expect("frames are JSON");
                    return Some(Received::Frame(frame));
                }
                WsMessage::Close(frame) => {
                    return Some(Received::Closed(frame.map(|f| u16::from(f.code))))
                }
                _ => continue,
            }
        }
    }

    /// The next frame of `kind` within `wait`, skipping others; panics when none comes.
    pub async fn expect(&mut self, kind: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.receive(left).await {
                Some(Received::Frame(frame)) if frame["type"] == kind => return frame,
                Some(Received::Frame(_)) => continue,
                other => panic!("expected a {kind} frame, got {other:?}"),
            }
        }
    }

    /// Every frame that arrives within `wait` (reading the socket for that long).
    pub async fn frames_for(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.receive(left).await {
                Some(Received::Frame(frame)) => frames.push(frame),
                _ => return frames,
            }
        }
    }
}

/// A DynamoDB Streams record (Lambda's event format) for an item stored by the adapter.
pub fn stream_record(sequence_number: &str, old: Option<&Value>, new: Option<&Value>) -> Value {
    let event_name = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        _ => "REMOVE",
    };
    let mut change = json!({
        "ApproximateCreationDateTime": 1_795_000_000.0,
        "Keys": {"pk": {"S": "k"}, "sk": {"S": "k"}},
        "SequenceNumber": sequence_number,
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(new) = new {
        change["NewImage"] = new.clone();
    }
    if let Some(old) = old {
        change["OldImage"] = old.clone();
    }
    json!({
        "eventID": format!("e-{sequence_number}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/relay-messaging/stream/2026-11-22T00:00:00.000"
    })
}

/// The app's emulator backend with pushes caught in memory, and the receiver of `connection`.
pub fn with_sockets(
    app: &TestApp,
    connections: &[&str],
) -> (
    use_cases::backend::Backend,
    Vec<tokio::sync::mpsc::UnboundedReceiver<Outgoing>>,
) {
    let sockets = Arc::new(MemoryPush::default());
    let receivers = connections.iter().map(|c| sockets.open(c)).collect();
    let mut backend = app.backend.clone();
    backend.push = sockets;
    (backend, receivers)
}

/// The frame a caught push carried.
pub fn frame(outgoing: Option<Outgoing>) -> Value {
    match outgoing {
        Some(Outgoing::Frame(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The item the DynamoDB adapter stores for the newest message of `cid`, in DynamoDB JSON.
pub async fn stored_message_image(app: &TestApp, cid: &str) -> Value {
    let provisioned = provisioned().await;
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let seq = app
        .stored_messages(cid)
        .await
        .last()
        .expect("a message")
        .seq;
    let item = client
        .get_item()
        .table_name(&provisioned.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("A#{}#C#{cid}", app.account.id)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("M#{seq:012}")),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the stored message");
    let item: serde_dynamo::Item = item.into();
    serde_json::to_value(item).unwrap()
}
