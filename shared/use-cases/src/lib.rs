//! Relay's ports (what the use cases need from storage, queues and the bucket) and the use
//! cases over them: authentication, session steps, routing, attachment validation, the one
//! optimistic-retry loop. They take ports (`Backend` is a bundle of them), never an adapter;
//! the adapters crate implements the ports, the edge crate calls the use cases.

pub mod agent_workspace;
pub mod attachments;
pub mod auth;
pub mod away_message;
pub mod backend;
pub mod batch;
pub mod built_in_bot;
pub mod conversation_expiry;
pub mod conversations;
pub mod email;
pub mod erasure;
pub mod error;
pub mod idle_checks;
pub mod integration_keys;
pub mod key_cache;
pub mod knowledge;
pub mod macros;
pub mod optimistic;
pub mod ports;
pub mod presence;
pub mod quotas;
pub mod realtime;
pub mod reports;
pub mod router;
pub mod satisfaction;
pub mod sessions;
pub mod settings_cache;
pub mod settings_change;
pub mod settings_effects;
pub mod settings_read;
pub mod signing_keys;
pub mod stream_reactions;
pub mod validation;
pub mod visitor_context;
pub mod visitors;
pub mod webhook_delivery;
pub mod webhook_subscriptions;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use backend::Backend;
pub use error::{DomainError, StoreError};
