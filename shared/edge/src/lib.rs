//! Relay's edge: the one route table, request parsing with the contract's limits, the one
//! mapping of errors to HTTP status and stable codes, the Lambda glue (events in, responses
//! out, clients built once per cold start) and logging. A function crate is its routes and
//! its wiring on top of this.

pub mod api;
pub mod cors;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod logging;
pub mod routes;
pub mod user_agent;
pub mod websocket;
