//! The wire: server frames as each role may see them, and the client frames the server accepts
//! (`docs/asyncapi.yaml`).

use serde::Deserialize;
use serde_json::json;

use super::{Event, TypingState};
use crate::model::Role;
use crate::rfc3339;
use crate::views::{conversation_view, message_view};

/// A server frame (`{"type", "id", "at", "data"}`) telling `event` as `reader` may see it.
pub fn server_frame(event: &Event, reader: Role, now: i64) -> String {
    let data = match event {
        Event::MessageCreated(m) | Event::MessageRedacted(m) => json!({
            "conversation_id": m.conversation_id,
            "message": message_view(m, reader),
        }),
        Event::ConversationUpdated(c) => json!({ "conversation": conversation_view(c, now) }),
        Event::Typing {
            conversation_id,
            author_id,
            state,
            ..
        } => json!({
            "conversation_id": conversation_id,
            "author_id": author_id,
            "state": state,
        }),
        Event::Read {
            conversation_id,
            author_id,
            seq,
        } => json!({
            "conversation_id": conversation_id,
            "author_id": author_id,
            "seq": seq,
        }),
        Event::OfferCreated(offer) => json!({
            "conversation_id": offer.conversation_id,
            "expires_at": rfc3339(offer.expires_at),
        }),
        Event::OfferWithdrawn(offer) => json!({ "conversation_id": offer.conversation_id }),
    };
    frame(event.type_name(), &event.id(), now, data)
}

/// The answer to a `ping`.
pub fn pong_frame(now: i64) -> String {
    frame("pong", &format!("pong:{now}"), now, json!({}))
}

/// An answer to a client frame that could not be done: `status` as HTTP would say it, and a
/// stable `code`.
pub fn error_frame(status: u16, code: &str, message: &str, now: i64) -> String {
    frame(
        "error",
        &format!("error:{now}"),
        now,
        json!({ "status": status, "code": code, "message": message }),
    )
}

fn frame(kind: &str, id: &str, now: i64, data: serde_json::Value) -> String {
    json!({ "type": kind, "id": id, "at": rfc3339(now), "data": data }).to_string()
}

/// Every `type` a server frame has (`docs/asyncapi.yaml` documents the same; a test checks).
pub const SERVER_FRAME_TYPES: &[&str] = &[
    "message.created",
    "message.redacted",
    "conversation.updated",
    "typing",
    "read",
    "offer.created",
    "offer.withdrawn",
    "pong",
    "error",
];

/// Every `action` a client frame has.
pub const CLIENT_ACTIONS: &[&str] = &["ping", "typing", "subscribe", "unsubscribe"];

/// Frames a client may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    // A struct variant, so that unknown fields are refused here too (serde lets a unit
    // variant of an internally tagged enum ignore them).
    Ping {},
    Typing {
        conversation_id: String,
        state: TypingState,
    },
    Subscribe {
        conversation_id: String,
    },
    Unsubscribe {
        conversation_id: String,
    },
}

/// The largest client frame read (API Gateway's own frame limit is 32 KB).
pub const MAX_CLIENT_FRAME_BYTES: usize = 32 * 1024;

/// The most connections one account may hold at once; the next is refused.
pub const MAX_CONNECTIONS_PER_ACCOUNT: usize = 2_000;

/// The most connections one listener (an end user, visitor or agent) may hold at once (R33):
/// one person cannot take the account's connections from its agents.
pub const MAX_CONNECTIONS_PER_LISTENER: usize = 10;

/// How long a connection record lives without being renewed (API Gateway closes a
/// WebSocket after 2 h anyway).
pub const CONNECTION_TTL_SECS: i64 = 2 * 60 * 60;

/// Why a client frame was refused (sent back as an `error` frame with this code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    TooLarge,
    Malformed,
}

impl FrameError {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooLarge => "frame_too_large",
            Self::Malformed => "invalid_frame",
        }
    }
}

/// Reads a client frame: size first, then JSON with a known `action` and no unknown fields.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return Err(FrameError::TooLarge);
    }
    serde_json::from_str(text).map_err(|_| FrameError::Malformed)
}
