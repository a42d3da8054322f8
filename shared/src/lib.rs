//! The layer crates of `shared/` under one name, at the paths the function crates import:
//! `domain` (entities and rules, no runtime/AWS/HTTP), `use-cases` (ports and the use cases
//! over them), `adapters` (DynamoDB, SQS, S3, in-memory; the composition root) and `edge`
//! (route table, errors to HTTP, Lambda glue). See docs/architecture.md.

pub use domain::{
    attachments, bot, business_hours, idle_sessions, ids, integrations, messages, model, now_ms,
    realtime, retention, rfc3339, routing, rules, sessions, settings, surveys, views, webhooks,
    widget, workspace,
};
pub use use_cases::{
    agent_workspace, auth, away_message, backend, batch, built_in_bot, conversation_expiry,
    erasure, error, idle_checks, integration_keys, lifecycle, live, optimistic, ports, quotas,
    router, satisfaction, settings_change, signing_keys, stream_reactions, validation, visitors,
    webhook_delivery, webhook_subscriptions, Backend, DomainError, StoreError,
};
#[cfg(feature = "contract-tests")]
pub use use_cases::{
    change_feed_contract_tests, contract, object_store_contract_tests, push_contract_tests,
    queue_contract_tests, store_contract_tests,
};

pub use adapters::{self, config, http_client};

#[cfg(feature = "lambda")]
pub use edge::lambda;
pub use edge::{api, cors, logging, routes, websocket};
