//! Relay's domain: what a conversation, a message, an agent, an offer and the settings are, and
//! the product's rules (`docs/rules.md`, R1–R30) as plain functions over them. No async
//! runtime, no AWS, no HTTP: the use cases and adapters in `shared` call into this crate,
//! never the other way round.
//!
//! Modules, from the bottom up: `ids` and `error`; `model` (the entities); `settings` (the
//! account's typed settings); `routing` (agents, capacity, offers, who is eligible);
//! `messages` (bodies, limits, visibility); `rules` (what a message does to its ticket,
//! handoff); `sessions` (ending and closing, R20–R22); `attachments` (admission and inspection
//! of files, R18–R19); `realtime` (which change becomes which event for whom, R27); `widget` (widget keys,
//! allowed origins, visitors); `workspace` (inbox views, conversation fields, end-user
//! profiles, the ticket's history); `integrations` (keys for bots and webhook consumers);
//! `bot` (the built-in bot's turn); `business_hours` (when the team is at work, the away
//! message); `idle_sessions` (ending sessions nobody wrote in for too long); `retention` (when a
//! conversation at rest is deleted); `quotas` (what one caller may do in a window, R33);
//! `locale` (the server's texts in English and French); `visitor_context` (the pages and
//! browser agents see beside a conversation).

pub mod attachments;
pub mod aws_limits;
pub mod bot;
pub mod business_hours;
pub mod email;
pub mod error;
pub(crate) mod fields;
pub mod idle_sessions;
pub mod ids;
pub mod integrations;
pub mod knowledge;
pub mod locale;
pub mod macros;
pub mod messages;
pub mod model;
pub mod quotas;
pub mod realtime;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod surveys;
pub mod views;
pub mod visitor_context;
pub mod webhooks;
pub mod widget;
pub mod workspace;

pub use error::DomainError;

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
