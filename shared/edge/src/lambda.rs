//! Lambda entry point for HTTP functions: config and clients once per cold start, then every
//! API Gateway event goes to the function's handler as an `ApiRequest`.

use std::future::Future;

pub use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
pub use aws_lambda_events::dynamodb::Event as DynamoDbStreamEvent;
pub use aws_lambda_events::encodings::Body as EventBody;
pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
pub use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use bytes::Bytes;
pub use lambda_http::request::LambdaRequest;
pub use lambda_http::Error;
use lambda_http::{service_fn, Body, Request};
pub use lambda_http::{Context, LambdaEvent};

use crate::api::{ApiRequest, ApiResponse};
use adapters::config::FunctionConfig;
use adapters::wiring::{load_aws_config, Links};
use use_cases::backend::Backend;

/// Converts an API Gateway request into the handlers' request type, with the API's own path:
/// API Gateway puts a named stage in front of it (`/prod/v1/conversations`), which the route
/// table does not know. (`$default`, the template's stage, has no prefix.)
pub fn to_api_request(request: Request) -> ApiRequest {
    let stage = stage_of(&request);
    let source = source_of(&request);
    let (mut parts, body) = request.into_parts();
    if let Some(source) = source {
        parts.extensions.insert(crate::api::SourceAddress(source));
    }
    if let Some(stage) = stage {
        if let Some(uri) = without_stage(&parts.uri, &stage) {
            parts.uri = uri;
        }
    }
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

/// The named stage of an API Gateway request (`None` for `$default` or no stage).
fn stage_of(request: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    let stage = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.stage.clone(),
        RequestContext::ApiGatewayV1(context) => context.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }?;
    (stage != "$default" && !stage.is_empty()).then_some(stage)
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
fn source_of(request: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// `uri` without a leading `/{stage}` segment, if it has one.
fn without_stage(uri: &http::Uri, stage: &str) -> Option<http::Uri> {
    let path = uri.path();
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    path_and_query.parse().ok()
}

/// Once per cold start: logging, typed configuration (fails fast with a clear message) and the
/// AWS clients. Creating clients makes no network call. Logging is the Lambda runtime's own
/// set-up: it honours `AWS_LAMBDA_LOG_FORMAT` (JSON, as the template sets) and
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`).
async fn cold_start(links: Links) -> Result<Backend, Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = FunctionConfig::from_env().inspect_err(|error| {
        tracing::error!(%error, "invalid configuration");
    })?;
    Ok(adapters::wiring::aws(
        &load_aws_config().await,
        &config,
        links,
    ))
}

/// One API Gateway event, as the Lambda runtime hands it over, through the function: the
/// event JSON AWS sends → `lambda_http`'s conversion (the one `lambda_http::run` uses: stage,
/// base64 bodies, multi-value query strings) → `handler` → the API Gateway response JSON.
/// `run_http` serves every event through this; the deployed-path tests feed it recorded events.
pub async fn answer_http_event<F, Fut>(
    backend: &Backend,
    handler: &F,
    event: LambdaEvent<LambdaRequest>,
) -> Result<impl serde::Serialize + Send, Error>
where
    F: Fn(Backend, ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ApiResponse> + Send,
{
    use lambda_http::tower::ServiceExt;
    let service = service_fn(move |request: Request| {
        let backend = backend.clone();
        async move {
            let deadline = backend.limits.request_deadline;
            let answer = tokio::time::timeout(deadline, handler(backend, to_api_request(request)));
            Ok::<_, Error>(answer.await.unwrap_or_else(|_| past_deadline(deadline)))
        }
    });
    // lambda_http's own adapter (what `lambda_http::run` wraps a service in).
    lambda_http::Adapter::from(service).oneshot(event).await
}

/// The answer to a request that ran out of time: 503 with `Retry-After`, never the Lambda
/// timeout's 502 (whatever the handler had done is idempotent: a retry completes it).
fn past_deadline(deadline: std::time::Duration) -> ApiResponse {
    tracing::warn!(
        deadline_ms = deadline.as_millis() as u64,
        "request past its deadline"
    );
    crate::api::error_response(&crate::api::ApiError {
        retry_after_secs: Some(1),
        ..crate::api::ApiError::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "the service is busy; retry the request",
        )
    })
}

/// Runs an HTTP function: fails fast on missing configuration, builds the AWS backend once
/// (with the services `links` names), then answers every event with [`answer_http_event`].
pub async fn run_http<F, Fut>(links: Links, handler: F) -> Result<(), Error>
where
    F: Fn(Backend, ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = ApiResponse> + Send,
{
    let backend = cold_start(links).await?;
    let (backend, handler) = (&backend, &handler);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<LambdaRequest>| {
        answer_http_event(backend, handler, event)
    }))
    .await
}

/// The batch a consumer handles: records without a message id cannot be reported as failed
/// (SQS always sends one), so they are logged and left out.
pub fn received_batch(
    records: Vec<aws_lambda_events::sqs::SqsMessage>,
) -> Vec<use_cases::ports::ReceivedMessage> {
    let mut batch = Vec::new();
    for record in records {
        match record.message_id.filter(|id| !id.is_empty()) {
            Some(message_id) => batch.push(use_cases::ports::ReceivedMessage {
                message_id,
                receipt: record.receipt_handle.unwrap_or_default(),
                body: record.body.unwrap_or_default(),
                receive_count: record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            }),
            None => tracing::error!("SQS record without messageId"),
        }
    }
    batch
}

/// The partial batch response for `failed` ids: only ids of `batch`, each once, never empty
/// (an empty or unknown identifier would make Lambda retry the whole batch).
pub fn batch_response(
    batch: &[use_cases::ports::ReceivedMessage],
    failed: Vec<String>,
) -> SqsBatchResponse {
    let mut reported: Vec<String> = Vec::new();
    for id in failed {
        let known = batch.iter().any(|m| m.message_id == id);
        if known && !id.is_empty() && !reported.contains(&id) {
            reported.push(id);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = reported
        .into_iter()
        .map(|id| {
            let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// One SQS event, as the Lambda runtime hands it over, through a consumer: the records →
/// `handler` (which returns the message ids that failed) → the partial batch response JSON.
/// `run_sqs` answers every event with this; the deployed-path tests feed it recorded events.
pub async fn answer_sqs_event<F, Fut>(
    backend: &Backend,
    handler: &F,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error>
where
    F: Fn(Backend, Vec<use_cases::ports::ReceivedMessage>) -> Fut + Send + Sync,
    Fut: Future<Output = Vec<String>> + Send,
{
    let batch = received_batch(event.payload.records);
    let failed = handler(backend.clone(), batch.clone()).await;
    Ok(batch_response(&batch, failed))
}

/// Runs an SQS consumer: `handler` gets the batch and returns the message ids that failed,
/// which are reported as batch item failures (only they are retried, then dead-lettered).
pub async fn run_sqs<F, Fut>(links: Links, handler: F) -> Result<(), Error>
where
    F: Fn(Backend, Vec<use_cases::ports::ReceivedMessage>) -> Fut + Send + Sync,
    Fut: Future<Output = Vec<String>> + Send,
{
    let backend = cold_start(links).await?;
    let (backend, handler) = (&backend, &handler);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        answer_sqs_event(backend, handler, event)
    }))
    .await
}

/// An event of a function fed both by a table's change stream and by a queue (the fan-out:
/// the stream, and its reactions queue, R31). Told apart by the records' `eventSource`, as
/// Lambda writes it (`aws:dynamodb`, `aws:sqs`).
#[derive(Debug)]
pub enum StreamOrQueue {
    Stream(DynamoDbStreamEvent),
    Queue(SqsEvent),
}

impl StreamOrQueue {
    /// Reads the event Lambda sent; an event without records is an empty stream batch.
    pub fn from_event(event: serde_json::Value) -> Result<Self, serde_json::Error> {
        let source = event["Records"][0]["eventSource"]
            .as_str()
            .unwrap_or_default();
        if source == "aws:sqs" {
            serde_json::from_value(event).map(Self::Queue)
        } else {
            serde_json::from_value(event).map(Self::Stream)
        }
    }
}

/// The change one record of the table's stream describes (its two images decoded the way the
/// table stores items), or `None` for an item that is not a stored change.
pub fn stream_change(
    record: aws_lambda_events::dynamodb::EventRecord,
) -> Result<Option<domain::realtime::StoredChange>, use_cases::StoreError> {
    adapters::wiring::stream_change(record.change.old_image, record.change.new_image)
}

/// Runs a function whose events are not HTTP or SQS (the WebSocket API's routes, the table's
/// change stream): `handler` takes the event as AWS sends it and answers what Lambda expects,
/// or an error: the invocation then fails and Lambda retries the event (R31).
pub async fn run_events<E, R, X, F, Fut>(links: Links, handler: F) -> Result<(), Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    X: Into<Error>,
    F: Fn(Backend, E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<R, X>> + Send,
{
    let backend = cold_start(links).await?;
    let (backend, handler) = (&backend, &handler);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        handler(backend.clone(), event.payload)
            .await
            .map_err(Into::into)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::SqsMessage;

    fn record(id: Option<&str>) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = id.map(str::to_string);
        record.body = Some("{}".into());
        record
    }

    #[test]
    fn batch_responses_carry_only_known_non_empty_ids_once() {
        let batch = received_batch(vec![
            record(Some("m-1")),
            record(None),
            record(Some("")),
            record(Some("m-2")),
        ]);
        assert_eq!(
            batch
                .iter()
                .map(|m| m.message_id.as_str())
                .collect::<Vec<_>>(),
            vec!["m-1", "m-2"]
        );
        let response = batch_response(
            &batch,
            vec![
                "m-2".into(),
                "".into(),
                "m-9".into(),
                "m-2".into(),
                "m-1".into(),
            ],
        );
        let ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, vec!["m-2", "m-1"]);
        assert!(batch_response(&batch, Vec::new())
            .batch_item_failures
            .is_empty());
    }
}
