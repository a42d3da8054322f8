//! Messages as posted and as stored (R13–R16): the body a client sends, its validation and
//! limits, rich content and its text rendering (R15), who may see what (R16), system notices.
//! How a message changes its conversation is in `rules`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::ids::new_id;
use crate::model::{AuthorRole, Conversation, Message, MessageKind, Redaction, Role};

/// Request bodies above this are refused with 413 before anything else happens.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Message text limit, in characters (not bytes).
pub const MAX_TEXT_CHARS: usize = 16_384;
pub const MAX_CLIENT_MESSAGE_ID_LEN: usize = 128;
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
pub const MAX_HANDOFF_REASON_CHARS: usize = 500;
pub const DEFAULT_MESSAGE_PAGE: usize = 50;
pub const MAX_MESSAGE_PAGE: usize = 100;
pub const MAX_CONVERSATION_PAGE: usize = 100;

/// What a page of messages says about the messages before it (`prev_before_seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earlier {
    /// Read forwards: the page names no cursor back (the field is absent).
    NotAsked,
    /// Read backwards down to the conversation's first message (the field is null).
    StartReached,
    /// Read backwards: the page before this one ends below this seq.
    Before(u64),
}
/// How long a typing indicator lasts without a new `typing_start`.
pub const TYPING_TTL_MS: i64 = 10_000;
/// Idempotency records are kept this long (R14 asks for at least 24 h).
pub const IDEMPOTENCY_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// Clamps a requested page size into `1..=max`, `default` when absent (the contract clamps,
/// it does not refuse).
pub fn clamp_page(requested: Option<usize>, default: usize, max: usize) -> usize {
    requested.unwrap_or(default).clamp(1, max)
}

/// Body of `POST /v1/conversations/{cid}/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    pub client_message_id: String,
    #[serde(rename = "type")]
    pub kind: RequestedKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rich: Option<RichContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_ids: Option<Vec<String>>,
}

/// Message types a caller may post (system messages are the product's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestedKind {
    Text,
    Rich,
    Attachment,
    InternalNote,
}

/// R15: structured content (carousels, lists, buttons), stored as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RichContent {
    pub layout: RichLayout,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<RichItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<RichButton>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RichLayout {
    Carousel,
    List,
    Buttons,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RichItem {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<RichButton>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RichButton {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

const MAX_RICH_ELEMENTS: usize = 50;
/// Bounds of rich content's parts (R32): whatever a bot sends, its message and the frames and
/// webhook jobs made of it stay inside AWS's limits (a frame of 128 KB carries the content and
/// its text rendering).
pub const MAX_RICH_LABEL_CHARS: usize = 200;
pub const MAX_RICH_DESCRIPTION_CHARS: usize = 2_000;
pub const MAX_RICH_PAYLOAD_CHARS: usize = 1_000;
/// The whole rich content, as JSON.
pub const MAX_RICH_JSON_BYTES: usize = 32 * 1024;

fn render_button(button: &RichButton) -> String {
    match &button.url {
        Some(url) => format!("[{}] {url}", button.label),
        None => format!("[{}]", button.label),
    }
}

impl RichContent {
    /// R15: the text-only rendering agents see (and clients without rich support).
    pub fn render_text(&self) -> String {
        let mut lines = Vec::new();
        if let Some(text) = &self.text {
            lines.push(text.clone());
        }
        for (i, item) in self.items.iter().enumerate() {
            let bullet = match self.layout {
                RichLayout::List => "-".to_string(),
                _ => format!("{}.", i + 1),
            };
            let mut line = format!("{bullet} {}", item.title);
            if let Some(description) = &item.description {
                line.push_str(&format!(": {description}"));
            }
            lines.push(line);
            for button in &item.buttons {
                lines.push(format!("   {}", render_button(button)));
            }
        }
        for button in &self.buttons {
            lines.push(render_button(button));
        }
        lines.join("\n")
    }

    fn validate(&self) -> Result<(), DomainError> {
        let elements = self.items.len()
            + self.buttons.len()
            + self.items.iter().map(|i| i.buttons.len()).sum::<usize>();
        if elements == 0 && self.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(DomainError::Unprocessable(
                "rich content needs text, items or buttons".into(),
            ));
        }
        if elements > MAX_RICH_ELEMENTS {
            return Err(DomainError::Unprocessable(format!(
                "rich content may hold at most {MAX_RICH_ELEMENTS} items and buttons"
            )));
        }
        let all_buttons = self
            .buttons
            .iter()
            .chain(self.items.iter().flat_map(|i| i.buttons.iter()));
        let too_long = |what: &str, text: &str, max: usize| {
            (text.chars().count() > max).then(|| {
                DomainError::Unprocessable(format!("a rich {what} takes at most {max} characters"))
            })
        };
        for item in &self.items {
            if let Some(error) =
                too_long("item title", &item.title, MAX_RICH_LABEL_CHARS).or_else(|| {
                    item.description
                        .as_deref()
                        .and_then(|d| too_long("item description", d, MAX_RICH_DESCRIPTION_CHARS))
                })
            {
                return Err(error);
            }
        }
        if let Some(error) = self
            .text
            .as_deref()
            .and_then(|t| too_long("text", t, MAX_TEXT_CHARS))
        {
            return Err(error);
        }
        for button in all_buttons {
            if button.label.trim().is_empty() {
                return Err(DomainError::Unprocessable("a button needs a label".into()));
            }
            if let Some(error) = too_long("button label", &button.label, MAX_RICH_LABEL_CHARS)
                .or_else(|| {
                    button
                        .payload
                        .as_deref()
                        .and_then(|p| too_long("button payload", p, MAX_RICH_PAYLOAD_CHARS))
                })
            {
                return Err(error);
            }
            if let Some(url) = &button.url {
                check_link(url, &["https", "mailto", "tel"])?;
            }
        }
        for item in &self.items {
            if let Some(url) = &item.image_url {
                check_link(url, &["https"])?;
            }
        }
        let bytes = serde_json::to_string(self).map_or(usize::MAX, |json| json.len());
        if bytes > MAX_RICH_JSON_BYTES {
            return Err(DomainError::Unprocessable(format!(
                "rich content takes at most {MAX_RICH_JSON_BYTES} bytes as JSON ({bytes} given)"
            )));
        }
        Ok(())
    }
}

/// Longest link kept in rich content.
const MAX_LINK_CHARS: usize = 2048;

/// A link a client may open as it is: one of `schemes` (lower case, as browsers compare them
/// after stripping what this refuses), no whitespace or control characters anywhere (browsers
/// drop some of them, so ` JavaScript:` would run), and for https a host.
fn check_link(url: &str, schemes: &[&str]) -> Result<(), DomainError> {
    let refuse = || {
        DomainError::Unprocessable(format!(
            "links in rich content must be {} URLs",
            schemes.join(", ")
        ))
    };
    if url.is_empty()
        || url.chars().count() > MAX_LINK_CHARS
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(refuse());
    }
    let (scheme, rest) = url.split_once(':').ok_or_else(refuse)?;
    let scheme = scheme.to_ascii_lowercase();
    if !schemes.contains(&scheme.as_str()) {
        return Err(refuse());
    }
    if scheme == "https" {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default())
            .unwrap_or_default();
        if host.is_empty() {
            return Err(refuse());
        }
    } else if rest.is_empty() {
        return Err(refuse());
    }
    Ok(())
}

/// A post request that passed validation: what will be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedPost {
    pub client_message_id: String,
    pub kind: MessageKind,
    pub text: Option<String>,
    pub rich: Option<serde_json::Value>,
    pub attachment_ids: Vec<String>,
    pub request_hash: String,
}

fn is_valid_client_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_MESSAGE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// R14's key: 400 `invalid_request` unless 1-128 characters of A-Z a-z 0-9 - _ . :
pub fn check_client_message_id(id: &str) -> Result<(), DomainError> {
    if is_valid_client_message_id(id) {
        return Ok(());
    }
    Err(DomainError::InvalidRequest(format!(
        "client_message_id must be 1-{MAX_CLIENT_MESSAGE_ID_LEN} characters of A-Z a-z 0-9 - _ . :"
    )))
}

fn check_text_length(text: &str) -> Result<(), DomainError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::MessageTooLong {
            max: MAX_TEXT_CHARS,
        });
    }
    Ok(())
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// Validates a post by a caller with `role` (R14 key shape, R15, R16, limits).
pub fn validate_post(
    role: Role,
    request: PostMessageRequest,
) -> Result<ValidatedPost, DomainError> {
    check_client_message_id(&request.client_message_id)?;
    // The hash is over the parsed request, so whitespace or key order in the JSON do not matter.
    let canonical = serde_json::to_vec(&request)
        .map_err(|_| DomainError::InvalidRequest("request cannot be encoded".into()))?;
    let request_hash = hex::encode(Sha256::digest(&canonical));
    if let Some(text) = &request.text {
        check_text_length(text)?;
    }
    let attachment_ids = request.attachment_ids.unwrap_or_default();
    let (kind, text, rich) = match request.kind {
        RequestedKind::Text | RequestedKind::InternalNote => {
            if request.rich.is_some() || !attachment_ids.is_empty() {
                return Err(DomainError::Unprocessable(
                    "text messages carry only text".into(),
                ));
            }
            let text = non_blank(request.text)
                .ok_or_else(|| DomainError::Unprocessable("text must not be empty".into()))?;
            let kind = if request.kind == RequestedKind::InternalNote {
                if !role.is_staff() {
                    return Err(DomainError::InternalNoteForbidden);
                }
                MessageKind::InternalNote
            } else {
                MessageKind::Text
            };
            (kind, Some(text), None)
        }
        RequestedKind::Rich => {
            if !attachment_ids.is_empty() || request.text.is_some() {
                return Err(DomainError::Unprocessable(
                    "rich messages carry their text inside `rich`".into(),
                ));
            }
            let rich = request
                .rich
                .ok_or_else(|| DomainError::Unprocessable("`rich` is required".into()))?;
            rich.validate()?;
            let rendering = rich.render_text();
            check_text_length(&rendering)?;
            let stored = serde_json::to_value(&rich).map_err(|_| {
                DomainError::InvalidRequest("rich content cannot be encoded".into())
            })?;
            (MessageKind::Rich, Some(rendering), Some(stored))
        }
        RequestedKind::Attachment => {
            if request.rich.is_some() {
                return Err(DomainError::Unprocessable(
                    "attachment messages carry attachment_ids and an optional caption".into(),
                ));
            }
            if attachment_ids.is_empty() || attachment_ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
                return Err(DomainError::Unprocessable(format!(
                    "attachment messages need 1-{MAX_ATTACHMENTS_PER_MESSAGE} attachment_ids"
                )));
            }
            (MessageKind::Attachment, non_blank(request.text), None)
        }
    };
    Ok(ValidatedPost {
        client_message_id: request.client_message_id,
        kind,
        text,
        rich,
        attachment_ids,
        request_hash,
    })
}

/// Builds the message to store for a validated post in the conversation's current session.
pub fn build_message(
    conversation: &Conversation,
    author_id: &str,
    author_role: AuthorRole,
    post: ValidatedPost,
    now: i64,
) -> Message {
    Message {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: 0,
        id: new_id("m"),
        client_message_id: post.client_message_id,
        author_id: author_id.to_string(),
        author_role,
        kind: post.kind,
        text: post.text,
        rich: post.rich,
        attachment_ids: post.attachment_ids,
        session_no: conversation.session_no,
        ticket_id: conversation.ticket_id.clone(),
        created_at: now,
        request_hash: post.request_hash,
        redacted: None,
        direct_push_seq: None,
    }
}

/// The author id of the product's own messages.
pub const SYSTEM_AUTHOR: &str = "system";

/// A message the product itself writes into a conversation's current session. Its
/// `client_message_id` is derived from `key` and the session, so writing it again (a retried
/// job) finds the first one instead of adding another.
pub fn system_message(conversation: &Conversation, key: &str, text: &str, now: i64) -> Message {
    let session = SessionOf {
        account_id: &conversation.account_id,
        conversation_id: &conversation.id,
        session_no: conversation.session_no,
        ticket_id: &conversation.ticket_id,
    };
    session_system_message(&session, key, text, now)
}

/// The session a system message belongs to (a conversation's current one, or an ended one).
pub struct SessionOf<'a> {
    pub account_id: &'a str,
    pub conversation_id: &'a str,
    pub session_no: u32,
    pub ticket_id: &'a str,
}

/// [`system_message`] in any session of a conversation (a survey follows an ended one).
pub fn session_system_message(session: &SessionOf, key: &str, text: &str, now: i64) -> Message {
    Message {
        account_id: session.account_id.to_string(),
        conversation_id: session.conversation_id.to_string(),
        seq: 0,
        id: new_id("m"),
        client_message_id: system_client_message_id(key, session.session_no),
        author_id: SYSTEM_AUTHOR.into(),
        author_role: AuthorRole::System,
        kind: MessageKind::System,
        text: Some(text.to_string()),
        rich: None,
        attachment_ids: Vec::new(),
        session_no: session.session_no,
        ticket_id: session.ticket_id.to_string(),
        created_at: now,
        request_hash: hex::encode(Sha256::digest(text.as_bytes())),
        redacted: None,
        direct_push_seq: None,
    }
}

/// The `client_message_id` of the system message `key` of session `session_no`.
pub fn system_client_message_id(key: &str, session_no: u32) -> String {
    format!("system.{key}.s{session_no}")
}

/// What a redacted message keeps as its request hash: a replay of its `client_message_id`
/// can no longer be told to be the same body, so it is refused (409), never re-stored.
pub const REDACTED_REQUEST_HASH: &str = "redacted";

/// The tombstone of `message`: text, rich content and attachment references removed (and the
/// hash of the text, which could confirm a guess of it); seq, author, session and time kept,
/// so the history's numbering stays whole.
pub fn redacted(message: &Message, redaction: Redaction) -> Message {
    Message {
        text: None,
        rich: None,
        attachment_ids: Vec::new(),
        request_hash: REDACTED_REQUEST_HASH.into(),
        redacted: Some(redaction),
        ..message.clone()
    }
}

/// R14: a replayed `client_message_id` is the original only if the body is the same.
pub fn check_replay(existing: &Message, request_hash: &str) -> Result<(), DomainError> {
    if existing.request_hash == request_hash {
        Ok(())
    } else {
        Err(DomainError::IdempotencyConflict)
    }
}

/// R16: end users never see internal notes; staff see everything.
pub fn visible_to(role: Role, message: &Message) -> bool {
    role.is_staff() || message.kind != MessageKind::InternalNote
}
