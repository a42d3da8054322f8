//! The local gateway: every HTTP function of the product on one port, on the in-memory backend
//! (no `AWS_ENDPOINT_URL`) or on an AWS endpoint (emulator or real), creating missing resources
//! at start. Tests use [`start`] to run the real HTTP stack in-process.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use shared::api::{error_response, ApiError, ApiRequest, ApiResponse};
use shared::backend::{dev_signing_secret, load_aws_config, Backend, DEMO_ACCOUNT, DEV_KID};
use shared::config::FunctionConfig;
use shared::rules::MAX_BODY_BYTES;

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

/// Physical-name prefix of the emulator resources (`RELAY_RESOURCE_PREFIX`, default `relay`).
pub fn resource_prefix() -> String {
    shared::config::optional("RELAY_RESOURCE_PREFIX")
        .unwrap_or_else(|| infra::DEFAULT_PREFIX.into())
}

/// Builds the backend the environment asks for, creating missing AWS resources, and bootstraps
/// the demo account with its dev key.
pub async fn backend_from_env() -> Result<(Backend, BackendKind), Box<dyn std::error::Error>> {
    let (backend, kind) = match shared::config::optional("AWS_ENDPOINT_URL") {
        None => (Backend::in_memory(), BackendKind::InMemory),
        Some(endpoint) => {
            let sdk = load_aws_config().await;
            let provisioned = infra::ensure(&sdk, &infra::definition(&resource_prefix())).await?;
            (
                Backend::aws(&sdk, &function_config(&provisioned)?),
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
    Ok((backend, kind))
}

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
    })
}

/// Sends a request to the function that serves its path.
pub async fn dispatch(backend: &Backend, request: ApiRequest) -> ApiResponse {
    let path = request.uri().path();
    if ingest_message::serves(path) {
        return ingest_message::handle(backend, request).await;
    }
    if update_settings::serves(path) {
        return update_settings::handle(backend, request).await;
    }
    error_response(&ApiError::route_not_found())
}

/// How often an idle in-process consumer looks at its queue again.
const CONSUMER_IDLE_POLL: Duration = Duration::from_millis(200);

/// Runs the queue consumers in-process, as Lambda's SQS triggers would: receive a batch, hand
/// it to the function, acknowledge what did not fail (failures reappear after the visibility
/// timeout and are dead-lettered after the receive limit).
pub fn spawn_consumers(backend: Backend) -> Vec<JoinHandle<()>> {
    let settings_effects = backend;
    vec![tokio::spawn(async move {
        let queue = settings_effects.settings_effects_queue.clone();
        loop {
            let batch = match queue.receive(10).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "settings-effects queue receive failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::time::sleep(CONSUMER_IDLE_POLL).await;
                continue;
            }
            let failed = update_settings::handle_effects(&settings_effects, &batch).await;
            for message in batch.iter().filter(|m| !failed.contains(&m.message_id)) {
                if let Err(error) = queue.acknowledge(&message.receipt).await {
                    tracing::warn!(%error, "acknowledge failed");
                }
            }
        }
    })]
}

async fn serve_one(
    backend: Backend,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // Read at most the contract's limit (+1 byte to notice the excess), never the whole body.
    let response = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => {
            dispatch(
                &backend,
                ApiRequest::from_parts(parts, collected.to_bytes()),
            )
            .await
        }
        Err(_) => error_response(&ApiError::payload_too_large()),
    };
    let (parts, body) = response.into_parts();
    Ok(hyper::Response::from_parts(
        parts,
        Full::new(Bytes::from(body)),
    ))
}

/// Serves HTTP on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, backend: Backend) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let backend = backend.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| serve_one(backend.clone(), request));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with error");
            }
        });
    }
}

/// Binds `addr`, serves HTTP and runs the queue consumers in background tasks; returns the
/// bound address.
pub async fn start(
    addr: SocketAddr,
    backend: Backend,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // The consumers run for as long as the runtime does, like the server.
    spawn_consumers(backend.clone());
    Ok((bound, tokio::spawn(serve(listener, backend))))
}
