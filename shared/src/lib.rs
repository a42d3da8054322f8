//! Domain crate of the messaging backend.
//!
//! The domain modules (`model`, `rules`, `auth`, `api`) know nothing about AWS; the `adapters`
//! module implements the storage and queue ports for DynamoDB/SQS and for memory.

pub mod adapters;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod backend;
pub mod config;
pub mod error;
pub mod http_client;
pub mod ids;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod lifecycle;
pub mod logging;
pub mod model;
pub mod optimistic;
pub mod ports;
pub mod router;
pub mod routing;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod validation;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use backend::Backend;
pub use error::{DomainError, StoreError};

/// Milliseconds since the Unix epoch, the one clock reading the domain uses.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 rendering (UTC, milliseconds) of an epoch-milliseconds timestamp, for API bodies.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
