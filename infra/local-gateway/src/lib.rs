//! The local gateway: every HTTP function of the product on one port, on the in-memory backend
//! (no `AWS_ENDPOINT_URL`) or on an AWS endpoint (emulator or real), creating missing resources
//! at start. Tests use [`start`] to run the real HTTP stack in-process.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use adapters::config::FunctionConfig;
use adapters::memory::MemoryPush;
use adapters::wiring::load_aws_config;
use domain::rules::MAX_BODY_BYTES;
use edge::api::{ApiError, ApiRequest, ApiResponse};
use http::{Method, StatusCode};
use use_cases::backend::{dev_signing_secret, Backend, DEMO_ACCOUNT, DEV_KID};
use use_cases::ports::{LocalBucket, LocalGrant, LOCAL_OBJECTS_PATH};
use use_cases::ports::{Queue, ReceivedMessage, WebhookSender};

pub mod mailbox;
pub mod pages;
pub mod realtime;

/// Which backend the gateway runs on, for the start-up banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    InMemory,
    Aws { endpoint: String, table: String },
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InMemory => write!(f, "in-memory (data is lost on exit)"),
            Self::Aws { endpoint, table } => write!(f, "AWS endpoint {endpoint} (table {table})"),
        }
    }
}

/// What only the local gateway has beside the functions' backend: the in-memory bucket whose
/// URLs it serves, and the feed of the table's changes it runs the fan-out from (on AWS,
/// Lambda reads the stream and calls the fan-out function).
#[derive(Clone, Default)]
pub struct Local {
    pub bucket: Option<Arc<dyn use_cases::ports::LocalBucket>>,
    pub changes: Option<Arc<dyn use_cases::ports::ChangeFeed>>,
    /// The emails sent (`/mailbox/`).
    pub mailbox: Option<Arc<adapters::memory::MemoryMailbox>>,
}

/// An in-memory backend and what the gateway serves of it.
pub fn in_memory() -> (Backend, Local) {
    let parts = adapters::wiring::in_memory_with_local();
    let local = Local {
        bucket: Some(parts.bucket),
        changes: Some(parts.changes),
        mailbox: Some(parts.mailbox),
    };
    (parts.backend, local)
}

/// Physical-name prefix of the emulator resources (`RELAY_RESOURCE_PREFIX`, default `relay`).
pub fn resource_prefix() -> String {
    adapters::config::optional("RELAY_RESOURCE_PREFIX")
        .unwrap_or_else(|| infra::DEFAULT_PREFIX.into())
}

/// Builds the backend the environment asks for, creating missing AWS resources, and bootstraps
/// the demo account with its dev key.
pub async fn backend_from_env() -> Result<(Backend, Local, BackendKind), Box<dyn std::error::Error>>
{
    let (backend, local, kind) = match adapters::config::optional("AWS_ENDPOINT_URL") {
        None => {
            let (backend, local) = in_memory();
            (backend, local, BackendKind::InMemory)
        }
        Some(endpoint) => {
            let sdk = load_aws_config().await;
            let provisioned = infra::ensure(&sdk, &infra::definition(&resource_prefix())).await?;
            let mut backend = adapters::wiring::aws(
                &sdk,
                &function_config(&provisioned)?,
                adapters::wiring::ALL_SERVICES,
            );
            // What SES accepted is kept for `/mailbox/` too.
            let mailbox = Arc::new(adapters::memory::MemoryMailbox::new(
                adapters::wiring::local_sender(),
                Some(backend.mailer.clone()),
            ));
            backend.mailer = mailbox.clone();
            let local = Local {
                mailbox: Some(mailbox),
                bucket: None,
                changes: Some(
                    adapters::wiring::stream_feed(&sdk, &provisioned.table_stream_arn).await?,
                ),
            };
            (
                backend,
                local,
                BackendKind::Aws {
                    endpoint,
                    table: provisioned.table_name.clone(),
                },
            )
        }
    };
    backend
        .bootstrap_account(DEMO_ACCOUNT, DEV_KID, &dev_signing_secret())
        .await?;
    // The demo's agent can take conversations from the start (an admin's step otherwise).
    let demo_agent = backend.store.get_agent(DEMO_ACCOUNT, DEMO_AGENT).await?;
    if demo_agent.is_none_or(|agent| agent.cap_messaging == 0) {
        let capacity = domain::routing::AgentProfileChange {
            capacity: Some((3, 0)),
            ..Default::default()
        };
        backend
            .store
            .update_agent_profile(DEMO_ACCOUNT, DEMO_AGENT, &capacity, domain::now_ms())
            .await?;
    }
    Ok((backend, local, kind))
}

/// The demo account's agent, whose console link the gateway prints at start.
pub const DEMO_AGENT: &str = "agent-1";

/// What the functions would get from `template.yaml`'s environment, from provisioned resources.
pub fn function_config(
    provisioned: &infra::Provisioned,
) -> Result<FunctionConfig, Box<dyn std::error::Error>> {
    let url = |logical_id: &str| {
        provisioned
            .queue_url(logical_id)
            .map(str::to_string)
            .ok_or_else(|| format!("queue {logical_id} missing from the resource definition"))
    };
    Ok(FunctionConfig {
        table_name: provisioned.table_name.clone(),
        routing_queue_url: url("RoutingQueue")?,
        settings_effects_queue_url: url("SettingsEffectsQueue")?,
        attachments_bucket: provisioned.bucket_name.clone(),
        attachment_events_queue_url: url("AttachmentEventsQueue")?,
        webhook_queue_url: url("WebhookQueue")?,
        reactions_queue_url: url("ReactionsQueue")?,
        // The gateway holds the WebSockets itself and pushes to them directly.
        realtime_endpoint: None,
        // SES on the emulator, from the domain provisioning verified.
        email: Some(adapters::wiring::local_email_config()),
    })
}

/// Sends a request to the function the route table names for it (as API Gateway's routes
/// do); a path no route serves is 404, a wrong method on a served path 405 with `Allow`.
pub async fn dispatch(backend: &Backend, request: ApiRequest) -> ApiResponse {
    let function = edge::routes::function_for(request.method().as_str(), request.uri().path());
    call_function(function.unwrap_or_default(), backend, request).await
}

/// Hands `request` to `function`'s handler, the one its `main.rs` serves Lambda events with.
/// No function of that name (a path no route serves; on AWS, API Gateway answers it): a logged
/// 404 like every other answer.
pub async fn call_function(function: &str, backend: &Backend, request: ApiRequest) -> ApiResponse {
    use edge::routes;
    match function {
        routes::INGEST_MESSAGE => ingest_message::handle(backend, request).await,
        routes::UPDATE_SETTINGS => update_settings::handle(backend, request).await,
        routes::UPLOAD_ATTACHMENT => upload_attachment::handle(backend, request).await,
        routes::AGENT_PRESENCE => agent_presence::handle(backend, request).await,
        routes::END_SESSION => end_session::handle(backend, request).await,
        routes::WIDGET_API => widget_api::handle(backend, request).await,
        routes::AGENT_WORKSPACE => agent_workspace::handle(backend, request).await,
        routes::INTEGRATIONS => integrations::handle(backend, request).await,
        _ => edge::api::refuse_logged(&request, ApiError::route_not_found()).await,
    }
}

/// How often an idle in-process consumer looks at its queue again.
const CONSUMER_IDLE_POLL: Duration = Duration::from_millis(200);

/// Which optional in-process consumers run, and how webhooks are delivered. Tests that inspect
/// the routing queue themselves leave the router off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumers {
    pub router: bool,
    pub webhooks: WebhookDelivery,
}

impl Consumers {
    /// Everything, as `cargo run -p local-gateway` runs it.
    pub fn all() -> Consumers {
        Consumers {
            router: true,
            webhooks: WebhookDelivery::from_env(),
        }
    }
}

/// How the in-process deliver-webhook consumer delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// `RELAY_ALLOW_LOOPBACK_WEBHOOKS=1`: `http://127.0.0.1` receivers are allowed (never on AWS).
    pub allow_loopback: bool,
    pub timeout: Duration,
    pub retry: use_cases::webhook_delivery::RetryPolicy,
}

impl WebhookDelivery {
    pub fn from_env() -> Self {
        Self {
            allow_loopback: std::env::var("RELAY_ALLOW_LOOPBACK_WEBHOOKS").as_deref() == Ok("1"),
            timeout: adapters::webhook_http::DELIVERY_TIMEOUT,
            retry: Default::default(),
        }
    }
}

type BatchFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<String>> + Send>>;
/// A queue worker: the function's batch handler, returning the ids that failed.
type BatchHandler = Arc<dyn Fn(Backend, Vec<ReceivedMessage>) -> BatchFuture + Send + Sync>;

/// Runs the queue consumers in-process, as Lambda's SQS triggers would: receive a batch, hand
/// it to the function, acknowledge what did not fail (failures reappear after the visibility
/// timeout and are dead-lettered after the receive limit).
pub fn spawn_consumers(backend: Backend, which: Consumers) -> Vec<JoinHandle<()>> {
    let mut consumers: Vec<(&str, Arc<dyn Queue>, BatchHandler)> = vec![
        (
            "settings-effects",
            backend.settings_effects_queue.clone(),
            Arc::new(|backend, batch| {
                Box::pin(async move { update_settings::handle_effects(&backend, &batch).await })
            }),
        ),
        (
            "validate-attachment",
            backend.attachment_events_queue.clone(),
            Arc::new(|backend, batch| {
                Box::pin(async move { validate_attachment::handle_events(&backend, &batch).await })
            }),
        ),
    ];
    consumers.push((
        "fan-out reactions",
        backend.reactions_queue.clone(),
        Arc::new(|backend, batch| {
            Box::pin(async move {
                use_cases::stream_reactions::retry_batch(&backend, &batch, domain::now_ms()).await
            })
        }),
    ));
    if which.router {
        consumers.push((
            "route-conversation",
            backend.routing_queue.clone(),
            Arc::new(|backend, batch| {
                Box::pin(async move { route_conversation::handle_batch(&backend, &batch).await })
            }),
        ));
    }
    let delivery = which.webhooks;
    match adapters::webhook_http::HttpWebhookSender::new(delivery.allow_loopback, delivery.timeout)
    {
        Ok(sender) => {
            let sender: Arc<dyn WebhookSender> = Arc::new(sender);
            consumers.push((
                "deliver-webhook",
                backend.webhook_queue.clone(),
                Arc::new(move |backend, batch| {
                    let sender = sender.clone();
                    Box::pin(async move {
                        deliver_webhook::handle_batch(
                            &backend,
                            sender.as_ref(),
                            &batch,
                            delivery.retry,
                        )
                        .await
                    })
                }),
            ));
        }
        Err(error) => tracing::error!(%error, "webhook deliveries cannot start"),
    }
    consumers
        .into_iter()
        .map(|(name, queue, handler)| {
            let backend = backend.clone();
            tokio::spawn(async move {
                loop {
                    let batch = match queue.receive(10).await {
                        Ok(batch) => batch,
                        Err(error) => {
                            tracing::warn!(%error, consumer = name, "queue receive failed");
                            Vec::new()
                        }
                    };
                    if batch.is_empty() {
                        tokio::time::sleep(CONSUMER_IDLE_POLL).await;
                        continue;
                    }
                    let failed = handler(backend.clone(), batch.clone()).await;
                    for message in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                        if let Err(error) = queue.acknowledge(&message.receipt).await {
                            tracing::warn!(%error, consumer = name, "acknowledge failed");
                        }
                    }
                }
            })
        })
        .collect()
}

/// In memory mode, what S3 does with presigned URLs: `PUT` stores an upload (signature,
/// expiry and size limit checked), `GET` downloads with the signed disposition and type.
async fn serve_local_object(
    objects: &dyn LocalBucket,
    parts: http::request::Parts,
    body: Incoming,
) -> hyper::Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: &str| {
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(text.to_string())))
            .unwrap_or_default()
    };
    let key = parts
        .uri
        .path()
        .strip_prefix(LOCAL_OBJECTS_PATH)
        .unwrap_or_default()
        .to_string();
    let Some(grant) = objects.verify(
        &key,
        parts.uri.query().unwrap_or_default(),
        domain::now_ms(),
    ) else {
        return plain(StatusCode::FORBIDDEN, "AccessDenied");
    };
    match (grant, parts.method) {
        (LocalGrant::Upload { max_bytes }, Method::PUT) => {
            let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
            match Limited::new(body, limit).collect().await {
                Ok(collected) => match objects.put(&key, collected.to_bytes().to_vec()).await {
                    Ok(()) => plain(StatusCode::OK, ""),
                    Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "SlowDown"),
                },
                Err(_) => plain(StatusCode::BAD_REQUEST, "EntityTooLarge"),
            }
        }
        (
            LocalGrant::Download {
                disposition,
                content_type,
            },
            Method::GET,
        ) => match objects.get(&key) {
            Ok(Some(bytes)) => hyper::Response::builder()
                .header("content-type", content_type)
                .header("content-disposition", disposition)
                .header("x-content-type-options", "nosniff")
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_default(),
            _ => plain(StatusCode::NOT_FOUND, "NoSuchKey"),
        },
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}

/// An API response as the gateway's server sends it.
pub(crate) fn into_hyper(response: ApiResponse) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::from(body)))
}

async fn serve_one(
    backend: Backend,
    local: Local,
    sockets: Arc<MemoryPush>,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if request.uri().path() == realtime::REALTIME_PATH && realtime::is_upgrade(&request) {
        return Ok(realtime::upgrade(backend, sockets, request).await);
    }
    if request.uri().path() == pages::CSP_REPORTS_PATH {
        return Ok(pages::csp_reports(request).await);
    }
    if let Some(mailbox) = local.mailbox.as_ref() {
        if request.method() == Method::GET && request.uri().path().starts_with("/mailbox/") {
            return Ok(mailbox::serve_mailbox(mailbox, request.uri().path()));
        }
    }
    if request.method() == Method::GET && pages::is_page(request.uri().path()) {
        return Ok(pages::serve(&backend, request.uri()).await);
    }
    let (mut parts, body) = request.into_parts();
    // What API Gateway reports as `sourceIp`.
    parts
        .extensions
        .insert(edge::api::SourceAddress(peer.ip().to_string()));
    if parts.uri.path().starts_with(mailbox::LOCAL_EMAIL_PATH) {
        return Ok(into_hyper(mailbox::serve(&backend, parts, body).await));
    }
    if let Some(objects) = local.bucket.as_ref() {
        if parts.uri.path().starts_with(LOCAL_OBJECTS_PATH) {
            return Ok(serve_local_object(objects.as_ref(), parts, body).await);
        }
    }
    // Read at most the contract's limit (+1 byte to notice the excess), never the whole body.
    let head = (parts.method.clone(), parts.uri.clone());
    let response = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => {
            dispatch(
                &backend,
                ApiRequest::from_parts(parts, collected.to_bytes()),
            )
            .await
        }
        Err(_) => {
            let mut request = ApiRequest::new(Bytes::new());
            (*request.method_mut(), *request.uri_mut()) = head;
            edge::api::refuse_logged(&request, ApiError::payload_too_large()).await
        }
    };
    Ok(into_hyper(response))
}

/// Serves HTTP (and the WebSocket API, whose sockets are `sockets`) on `listener` until the
/// task is dropped.
pub async fn serve(
    listener: TcpListener,
    backend: Backend,
    local: Local,
    sockets: Arc<MemoryPush>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let (backend, local, sockets) = (backend.clone(), local.clone(), sockets.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                serve_one(
                    backend.clone(),
                    local.clone(),
                    sockets.clone(),
                    peer,
                    request,
                )
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await
            {
                tracing::debug!(%error, "connection closed with error");
            }
        });
    }
}

/// Binds `addr`, serves HTTP and runs every queue consumer in background tasks; returns the
/// bound address.
pub async fn start(
    addr: SocketAddr,
    backend: Backend,
    local: Local,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    start_with(addr, backend, local, Consumers::all()).await
}

/// [`start`] with a choice of consumers.
pub async fn start_with(
    addr: SocketAddr,
    mut backend: Backend,
    local: Local,
    consumers: Consumers,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    // The gateway holds the WebSockets, so frames are pushed to them directly.
    let sockets = Arc::new(MemoryPush::default());
    backend.push = sockets.clone();
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if let Some(objects) = local.bucket.as_ref() {
        objects.set_base_url(&format!("http://{bound}"));
    }
    // Subscriptions may name what the deliveries may reach.
    backend.limits.allow_loopback_webhooks = consumers.webhooks.allow_loopback;
    // The consumers run for as long as the runtime does, like the server.
    spawn_consumers(backend.clone(), consumers);
    if let Some(feed) = local.changes.clone() {
        realtime::spawn_fan_out(backend.clone(), feed);
    }
    Ok((
        bound,
        tokio::spawn(serve(listener, backend, local, sockets)),
    ))
}
