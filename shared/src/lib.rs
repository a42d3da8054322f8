//! What surrounds the domain (`domain` crate, re-exported here at the same paths): the ports
//! and the use cases over them (`ports`, `optimistic`, `lifecycle`, `router`, `validation`,
//! `auth`), the adapters that implement the ports (`adapters`: DynamoDB, SQS, S3 and their
//! in-memory twins), and the HTTP/Lambda edge (`api`, `lambda`, `logging`, `config`).

pub mod adapters;
pub mod api;
pub mod auth;
pub mod backend;
pub mod config;
pub mod error;
pub mod http_client;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod lifecycle;
pub mod logging;
pub mod optimistic;
pub mod ports;
pub mod router;
pub mod routes;
pub mod validation;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use backend::Backend;
pub use error::{DomainError, StoreError};

// The domain crate, re-exported at the paths the functions use (`shared::model::…`).
pub use domain::{attachments, ids, model, now_ms, rfc3339, routing, rules, sessions, settings};
