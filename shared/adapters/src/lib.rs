//! Adapters implementing the ports of `use-cases`: DynamoDB, SQS and S3 for AWS, and in-memory
//! twins for the local gateway's default backend and fast tests, one file per aggregate. Both
//! kinds pass the same contract suite (`use_cases::contract`). `wiring` is the composition
//! root that builds a `Backend` from them.

pub mod apigateway;
pub mod dynamo;
pub mod memory;
pub mod on_demand;
pub mod s3;
pub mod ses;
pub mod sqs;
pub mod webhook_http;
pub mod wiring;

pub mod config;
pub mod http_client;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use use_cases::error::StoreError;

/// The SDK operation an error type belongs to (`PutItemError` → `PutItem`), so a logged
/// storage failure names the call that failed.
pub(crate) fn operation_of<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last)
}

/// Whether an AWS error code says "try again later": the throttling and transient codes the
/// AWS SDKs retry themselves, for every service the adapters call. When the SDK gave up on
/// one of these, the request answers 503 (retryable), never 500.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        // Throttling.
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "KmsThrottled"
            | "TransactionInProgressException"
            | "TransactionConflictException"
            // Transient.
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "InternalError"
            | "InternalFailure"
            | "InternalServerError"
            | "ServiceUnavailable"
    )
}

/// Maps an SDK failure to the port's error: no answer, a retryable code or a 5xx status is
/// `Unavailable` (503 to clients); anything else is `Internal`. Both name the operation. One
/// mapping for DynamoDB, SQS and S3 (their crates share the error and response types).
pub(crate) fn sdk_error<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let operation = operation_of::<E>();
    let code = error.code().unwrap_or_default();
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{operation}: {error:?}"))
        }
        SdkError::ServiceError(service)
            if is_retryable_code(code) || service.raw().status().is_server_error() =>
        {
            StoreError::Unavailable(format!("{operation}: {code}"))
        }
        _ => StoreError::Internal(format!(
            "{operation}: {code}: {}",
            error.message().unwrap_or_default()
        )),
    }
}

/// A random backoff in `[1, cap_ms]` milliseconds, so contending writers spread out.
pub(crate) fn jittered_backoff(attempt: u32) -> std::time::Duration {
    let cap_ms = 2u64.saturating_pow(attempt.min(7)).clamp(2, 100);
    let mut byte = [0u8; 2];
    let noise = match getrandom::fill(&mut byte) {
        Ok(()) => u64::from(u16::from_le_bytes(byte)),
        Err(_) => cap_ms / 2,
    };
    std::time::Duration::from_millis(1 + noise % cap_ms)
}
