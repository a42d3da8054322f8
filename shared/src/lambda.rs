//! Lambda entry point for HTTP functions: config and clients once per cold start, then every
//! API Gateway event goes to the function's handler as an `ApiRequest`.

use std::future::Future;

use bytes::Bytes;
pub use lambda_http::Error;
use lambda_http::{service_fn, Body, Request};

use crate::api::{ApiRequest, ApiResponse};
use crate::backend::{load_aws_config, Backend};
use crate::config::FunctionConfig;

/// Converts an API Gateway request into the handlers' request type.
pub fn to_api_request(request: Request) -> ApiRequest {
    let (parts, body) = request.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        // Body is non-exhaustive upstream; anything else is treated as raw bytes.
        #[allow(unreachable_patterns)]
        other => Bytes::copy_from_slice(&other),
    };
    ApiRequest::from_parts(parts, bytes)
}

/// Runs an HTTP function: fails fast on missing configuration, builds the AWS backend once,
/// then serves events with `handler`.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Backend, ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ApiResponse> + Send,
{
    crate::logging::init();
    let config = match FunctionConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return Err(error.into());
        }
    };
    let aws = load_aws_config().await;
    let backend = Backend::aws(&aws, &config.table_name, &config.routing_queue_url);
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| {
        let backend = backend.clone();
        async move { Ok::<_, Error>(handler(backend, to_api_request(request)).await) }
    }))
    .await
}
