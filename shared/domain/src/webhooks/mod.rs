//! Webhooks (spec "Integrations", R29): an account's subscriptions, the events a stored change
//! becomes, the signature a receiver verifies, which addresses a delivery may reach, and the
//! retry schedule.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::ids::new_id;
use crate::model::{Control, Conversation, MessageKind, Role, SessionState, TicketStatus};
use crate::realtime::{Stored, StoredChange};
use crate::views::{conversation_view, message_view};

/// What a subscription may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WebhookEventType {
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "conversation.handoff")]
    ConversationHandoff,
    #[serde(rename = "session.ended")]
    SessionEnded,
    #[serde(rename = "ticket.closed")]
    TicketClosed,
    #[serde(rename = "csat.submitted")]
    CsatSubmitted,
}

impl WebhookEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCreated => "message.created",
            Self::ConversationHandoff => "conversation.handoff",
            Self::SessionEnded => "session.ended",
            Self::TicketClosed => "ticket.closed",
            Self::CsatSubmitted => "csat.submitted",
        }
    }
}

/// A subscription: where an account's events of `events` are delivered. The secret that signs
/// them ([`WebhookSecret`]) is stored apart: most functions read subscriptions, few need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub account_id: String,
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub created_at: i64,
    pub created_by: String,
    /// Events dead-lettered in a row; reset by a delivered one.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Set when [`MAX_CONSECUTIVE_FAILURES`] was reached: nothing more is delivered.
    #[serde(default)]
    pub disabled_at: Option<i64>,
    /// Attempts failed in a row, of any event (#32 item 6); reset by a delivered one.
    #[serde(default)]
    pub failed_attempts: u32,
    /// After [`PAUSE_AFTER_FAILED_ATTEMPTS`] failed attempts in a row, nothing is sent to the
    /// receiver until then (epoch ms): its jobs wait, and other subscriptions keep the
    /// function's time.
    #[serde(default)]
    pub paused_until: Option<i64>,
}

/// The HMAC key of a subscription's `Relay-Signature`: shown once, at creation.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    // The secret never reaches logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl Subscription {
    pub fn wants(&self, event: WebhookEventType) -> bool {
        self.disabled_at.is_none() && self.events.contains(&event)
    }
}

/// Subscriptions an account may hold.
pub const MAX_SUBSCRIPTIONS_PER_ACCOUNT: usize = 20;
/// Events dead-lettered in a row after which a subscription is disabled.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Failed attempts in a row after which a subscription is paused for [`PAUSE_SECS`].
pub const PAUSE_AFTER_FAILED_ATTEMPTS: u32 = 20;
pub const PAUSE_SECS: u32 = 300;
pub const MAX_URL_CHARS: usize = 2048;

/// Body of `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<WebhookEventType>,
}

/// Validates `request` (the URL by [`check_url`], at least one event) and mints the
/// subscription and its secret.
pub fn create_subscription(
    account_id: &str,
    created_by: &str,
    request: NewSubscription,
    allow_loopback: bool,
    now: i64,
) -> Result<(Subscription, WebhookSecret), DomainError> {
    check_url(&request.url, allow_loopback)?;
    let mut events = request.events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(DomainError::InvalidField(
            "events must name at least one event type".into(),
        ));
    }
    let mut secret = [0u8; 32];
    // As for ids: without the OS random source no secret can be minted at all.
    getrandom::fill(&mut secret).expect("operating system random source is unavailable");
    let subscription = Subscription {
        account_id: account_id.into(),
        id: new_id("wh"),
        url: request.url,
        events,
        created_at: now,
        created_by: created_by.into(),
        consecutive_failures: 0,
        failed_attempts: 0,
        paused_until: None,
        disabled_at: None,
    };
    Ok((
        subscription,
        WebhookSecret(format!("whsec_{}", hex::encode(secret))),
    ))
}

/// Where a delivery goes: scheme, host (a name or an address literal) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// A URL a delivery may be sent to: `https` with a host and no credentials; with
/// `allow_loopback` (the local gateway's `RELAY_ALLOW_LOOPBACK_WEBHOOKS=1`) also `http` to a
/// loopback address. The host is judged as the client library will connect to it: parsed by
/// the `url` crate's WHATWG host parser, which reqwest itself uses, so decimal, hex, octal and
/// short IPv4 forms, percent-escapes and trailing dots are normalised before the check, never
/// after it (R33). An address must be public ([`is_public`]); names are checked again after
/// resolution, at each delivery. 422 `invalid_field` otherwise.
pub fn check_url(url: &str, allow_loopback: bool) -> Result<Target, DomainError> {
    let refuse = |why: &str| DomainError::InvalidField(format!("url {why}"));
    if url.chars().count() > MAX_URL_CHARS
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(refuse("is not a URL"));
    }
    // The parser forgives extra slashes (`https:///host`); a URL must say its host plainly.
    if url
        .split_once("://")
        .is_none_or(|(_, rest)| rest.starts_with(['/', '\\']))
    {
        return Err(refuse("is not a URL"));
    }
    let parsed = url::Url::parse(url).map_err(|_| refuse("is not a URL"))?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(refuse("must be https")),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("must not carry credentials"));
    }
    let port = parsed
        .port_or_known_default()
        .filter(|port| *port != 0)
        .ok_or_else(|| refuse("has no valid host"))?;
    let (host, address) = match parsed.host() {
        Some(url::Host::Ipv4(v4)) => (v4.to_string(), Some(IpAddr::V4(v4))),
        Some(url::Host::Ipv6(v6)) => (format!("[{v6}]"), Some(IpAddr::V6(v6))),
        Some(url::Host::Domain(name)) if !name.is_empty() => {
            // A resolver treats `name.` as `name`: judge it without its trailing dots.
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err(refuse("has no valid host"));
            }
            (name, None)
        }
        _ => return Err(refuse("has no valid host")),
    };
    // Loopback is the one non-public destination, and only where the flag allows it.
    let allowed_loopback = allow_loopback && address.is_some_and(|ip| ip.is_loopback());
    if !(https || allowed_loopback) {
        return Err(refuse("must be https"));
    }
    let public = match address {
        Some(ip) => is_public(ip),
        None => !(host == "localhost" || host.ends_with(".localhost")),
    };
    if !(public || allowed_loopback) {
        return Err(refuse("must reach a public address"));
    }
    Ok(Target { https, host, port })
}

/// Whether a delivery may connect to `ip` on AWS: not loopback, private, link-local (the
/// instance metadata service lives there), carrier-grade NAT, multicast, documentation,
/// unspecified or reserved, in IPv4 or IPv6 (IPv4-mapped addresses are judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let first = segments[0];
            // IPv4-compatible (deprecated, `::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`) carry
            // an IPv4 address a relay would reach: judge that one.
            if segments[..6].iter().all(|s| *s == 0) && !(v6.is_loopback() || v6.is_unspecified()) {
                let [.., a, b] = segments;
                return is_public(IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(a) << 16) | u32::from(b),
                )));
            }
            if first == 0x2002 {
                let (a, b) = (segments[1], segments[2]);
                return is_public(IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(a) << 16) | u32::from(b),
                )));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation
                || (first == 0x0064 && segments[1] == 0xff9b) // NAT64 to anything
                || (first == 0x2001 && segments[1] == 0) // Teredo
                || (first == 0x0100 && segments[1..4].iter().all(|s| *s == 0)) // discard-only
                || (first & 0xe000) != 0x2000) // outside global unicast 2000::/3: reserved
        }
    }
}

/// One event as delivered: `{id, type, account_id, created_at, data}`. Its `id` is derived
/// from the change, so a change delivered twice by the stream is the same event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    pub account_id: String,
    pub created_at: String,
    pub data: serde_json::Value,
}

fn event_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!("evt_{}", &hex::encode(hasher.finalize())[..32])
}

fn conversation_event(
    event_type: WebhookEventType,
    after: &Conversation,
    now: i64,
) -> WebhookEvent {
    WebhookEvent {
        id: event_id(&[
            event_type.as_str(),
            &after.account_id,
            &after.id,
            &after.revision.to_string(),
        ]),
        event_type,
        account_id: after.account_id.clone(),
        created_at: crate::rfc3339(after.updated_at),
        data: serde_json::json!({ "conversation": conversation_view(after, now) }),
    }
}

/// The webhook events a stored change is: a new message other than an internal note
/// (`message.created`, rich content as sent), control passing to agents
/// (`conversation.handoff`), a session ending (`session.ended`), a ticket becoming solved or
/// closed (`ticket.closed`), a satisfaction rating (`csat.submitted`).
pub fn events_of(change: &StoredChange, now: i64) -> Vec<WebhookEvent> {
    match (&change.before, &change.after) {
        (None, Some(Stored::Message(message))) if message.kind != MessageKind::InternalNote => {
            let event_type = WebhookEventType::MessageCreated;
            vec![WebhookEvent {
                id: event_id(&[
                    event_type.as_str(),
                    &message.account_id,
                    &message.conversation_id,
                    &message.seq.to_string(),
                ]),
                event_type,
                account_id: message.account_id.clone(),
                created_at: crate::rfc3339(message.created_at),
                data: serde_json::json!({
                    "conversation_id": message.conversation_id,
                    "message": message_view(message, Role::Integration),
                }),
            }]
        }
        (None, Some(Stored::Rating(rated))) => {
            let event_type = WebhookEventType::CsatSubmitted;
            vec![WebhookEvent {
                id: event_id(&[
                    event_type.as_str(),
                    &rated.account_id,
                    &rated.conversation_id,
                    &rated.session_no.to_string(),
                ]),
                event_type,
                account_id: rated.account_id.clone(),
                created_at: crate::rfc3339(rated.rated_at.unwrap_or(now)),
                data: serde_json::json!({
                    "conversation_id": rated.conversation_id,
                    "ticket_id": rated.ticket_id,
                    "session_no": rated.session_no,
                    "end_user_id": rated.end_user_id,
                    "agent_id": rated.agent_id,
                    "score": rated.score,
                    "comment": rated.comment,
                }),
            }]
        }
        (Some(Stored::Conversation(before)), Some(Stored::Conversation(after))) => {
            let mut events = Vec::new();
            if before.control != Control::Agent && after.control == Control::Agent {
                events.push(WebhookEventType::ConversationHandoff);
            }
            if before.session == SessionState::Active && after.session == SessionState::Ended {
                events.push(WebhookEventType::SessionEnded);
            }
            let done = |s: TicketStatus| matches!(s, TicketStatus::Solved | TicketStatus::Closed);
            if !done(before.ticket_status) && done(after.ticket_status) {
                events.push(WebhookEventType::TicketClosed);
            }
            events
                .into_iter()
                .map(|t| conversation_event(t, after, now))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// One attempt at delivering an event, as the delivery log lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub account_id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: WebhookEventType,
    /// 1-based.
    pub attempt: u32,
    /// The receiver's status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Why it failed without an answer (timeout, refused address…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
    pub at: i64,
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; another attempt follows.
    Retrying,
    /// Failed for the last time: dead-lettered.
    Failed,
}

/// The delivery log keeps an attempt this long.
pub const DELIVERY_LOG_RETENTION_SECS: i64 = 30 * 24 * 3600;

/// The `Relay-Signature` header of a delivery of `body` at `unix_seconds`:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature_header(secret: &str, unix_seconds: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key size");
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Attempts a delivery gets before it is dead-lettered (spec: at least 6 over at least an
/// hour).
pub const MAX_ATTEMPTS: u32 = 8;

/// How long to wait before attempt `attempt + 1` after attempt `attempt` failed (1-based):
/// 30 s, 2, 5, 10, 15, 15 and 15 minutes, each plus up to a fifth more (`jitter` in
/// `[0, 1)`), capped at SQS's 15-minute delay. The seven waits add up to at least 62.5
/// minutes, so eight attempts span more than an hour.
pub fn retry_delay_secs(attempt: u32, jitter: f64) -> u32 {
    const BASE: [u32; 7] = [30, 120, 300, 600, 900, 900, 900];
    let base = BASE[(attempt.max(1) as usize - 1).min(BASE.len() - 1)];
    let extra = (f64::from(base) / 5.0 * jitter.clamp(0.0, 1.0)) as u32;
    (base + extra).min(900)
}

#[cfg(test)]
mod tests;
