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

/// Once per cold start: logging, typed configuration (fails fast with a clear message) and the
/// AWS clients. Creating clients makes no network call.
async fn cold_start() -> Result<Backend, Error> {
    crate::logging::init();
    let config = FunctionConfig::from_env().inspect_err(|error| {
        tracing::error!(%error, "invalid configuration");
    })?;
    Ok(Backend::aws(&load_aws_config().await, &config))
}

/// Runs an HTTP function: fails fast on missing configuration, builds the AWS backend once,
/// then serves events with `handler`.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Backend, ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ApiResponse> + Send,
{
    let backend = cold_start().await?;
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| {
        let backend = backend.clone();
        async move { Ok::<_, Error>(handler(backend, to_api_request(request)).await) }
    }))
    .await
}

/// Runs an SQS consumer: `handler` gets the batch and returns the message ids that failed,
/// which are reported as batch item failures (only they are retried, then dead-lettered).
pub async fn run_sqs<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Backend, Vec<crate::ports::ReceivedMessage>) -> Fut + Send + Sync,
    Fut: Future<Output = Vec<String>> + Send,
{
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    use lambda_http::lambda_runtime::{self, LambdaEvent};

    let backend = cold_start().await?;
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<SqsEvent>| {
            let backend = backend.clone();
            async move {
                let mut failures = Vec::new();
                let mut batch = Vec::new();
                for record in event.payload.records {
                    match record.message_id {
                        Some(message_id) => batch.push(crate::ports::ReceivedMessage {
                            message_id,
                            receipt: record.receipt_handle.unwrap_or_default(),
                            body: record.body.unwrap_or_default(),
                            receive_count: record
                                .attributes
                                .get("ApproximateReceiveCount")
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(1),
                        }),
                        // Without an id it cannot be reported; SQS never sends one.
                        None => tracing::error!("SQS record without messageId"),
                    }
                }
                let known: Vec<String> = batch.iter().map(|m| m.message_id.clone()).collect();
                for id in handler(backend, batch).await {
                    // Only ids of this batch, never empty or unknown ones.
                    if known.contains(&id) {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = id;
                        failures.push(failure);
                    }
                }
                let mut response = SqsBatchResponse::default();
                response.batch_item_failures = failures;
                Ok::<_, Error>(response)
            }
        },
    ))
    .await
}
