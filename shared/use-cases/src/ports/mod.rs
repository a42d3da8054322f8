//! Ports: the small storage and queue interfaces the handlers depend on. Adapters live in
//! `crate::adapters`; every adapter passes the same contract suite (`crate::contract`).
//! `storage`: one trait per aggregate, and `Store`; `services`: queues, the bucket, pushes,
//! the change feed, and the helpers shared over the store.

mod email;
mod knowledge;
mod macros;
mod reports;
mod services;
mod storage;

pub use email::*;
pub use knowledge::*;
pub use macros::*;
pub use reports::*;
pub use services::*;
pub use storage::*;
