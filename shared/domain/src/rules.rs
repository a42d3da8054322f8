//! Domain rules R12–R17 (and the parts of R8/R3/R22 that shape a conversation), free of I/O.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::ids::new_id;
use crate::model::{
    AuthorRole, Channel, Control, Conversation, Message, MessageKind, ParticipantState, Role,
    SessionState, TicketStatus,
};
use crate::settings::Settings;

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
        for button in all_buttons {
            if button.label.trim().is_empty() {
                return Err(DomainError::Unprocessable("a button needs a label".into()));
            }
        }
        Ok(())
    }
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
    if !is_valid_client_message_id(&request.client_message_id) {
        return Err(DomainError::InvalidRequest(format!(
            "client_message_id must be 1-{MAX_CLIENT_MESSAGE_ID_LEN} characters of A-Z a-z 0-9 - _ . :"
        )));
    }
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
    }
}

/// A message the product itself writes into a conversation's current session. Its
/// `client_message_id` is derived from `key` and the session, so writing it again (a retried
/// job) finds the first one instead of adding another.
pub fn system_message(conversation: &Conversation, key: &str, text: &str, now: i64) -> Message {
    Message {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: 0,
        id: new_id("m"),
        client_message_id: format!("system.{key}.s{}", conversation.session_no),
        author_id: "system".into(),
        author_role: AuthorRole::System,
        kind: MessageKind::System,
        text: Some(text.to_string()),
        rich: None,
        attachment_ids: Vec::new(),
        session_no: conversation.session_no,
        ticket_id: conversation.ticket_id.clone(),
        created_at: now,
        request_hash: hex::encode(Sha256::digest(text.as_bytes())),
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

/// A new conversation (and its first ticket) started by `owner_id`.
/// R3: a live chat while messaging is off. R8: under the bot when the bot is on, otherwise
/// straight to agents (the caller requests routing). R17: tagged with its channel.
pub fn new_conversation(
    account_id: &str,
    owner_id: &str,
    settings: &Settings,
    now: i64,
) -> Conversation {
    let channel = if settings.messaging.enabled {
        Channel::Messaging
    } else {
        Channel::Chat
    };
    let control = if settings.bot.enabled {
        Control::Bot
    } else {
        Control::Agent
    };
    Conversation {
        account_id: account_id.to_string(),
        id: new_id("c"),
        owner_id: owner_id.to_string(),
        channel,
        control,
        assignee: None,
        session: SessionState::Active,
        session_no: 1,
        ticket_id: new_id("t"),
        ticket_status: TicketStatus::New,
        tags: vec![channel.tag().to_string()],
        priority: 0,
        group: None,
        created_at: now,
        updated_at: now,
        handoff_at: (control == Control::Agent).then_some(now),
        handoff_reason: None,
        end_user: ParticipantState::default(),
        agents: ParticipantState::default(),
        revision: 0,
        offer: None,
        held_capacity: None,
        routing_since: (control == Control::Agent).then_some(now),
    }
}

/// R3: a live chat whose session is still active (ended when messaging is turned on).
pub fn is_active_live_chat(conversation: &Conversation) -> bool {
    conversation.channel == Channel::Chat && conversation.session == SessionState::Active
}

pub use crate::routing::needs_routing;

impl TicketStatus {
    /// R17 lifecycle: new → open/pending/solved; open ⇄ pending; → solved; solved → open
    /// (reopened by a reply) or closed; closed is final.
    pub fn can_become(self, next: TicketStatus) -> bool {
        use TicketStatus::*;
        match (self, next) {
            (a, b) if a == b => true,
            (Closed, _) => false,
            (_, New) => false,
            (New | Open | Pending, Open | Pending | Solved) => true,
            (Solved, Open | Closed) => true,
            _ => false,
        }
    }
}

/// Whether a new message changes its conversation's ticket:
/// - a public agent reply opens a new ticket;
/// - an end-user message reopens a pending ticket;
/// - R22: an end-user message after the session ended, or after the ticket was solved or
///   closed, starts a new session (and ticket) under the bot, in the same history.
pub fn message_changes_ticket(
    conversation: &Conversation,
    author_role: AuthorRole,
    kind: MessageKind,
) -> bool {
    match author_role {
        AuthorRole::EndUser => {
            conversation.session == SessionState::Ended
                || matches!(
                    conversation.ticket_status,
                    TicketStatus::Pending | TicketStatus::Solved | TicketStatus::Closed
                )
        }
        AuthorRole::Agent => {
            kind != MessageKind::InternalNote
                && conversation.ticket_status == TicketStatus::New
                && conversation.session == SessionState::Active
        }
        AuthorRole::Bot | AuthorRole::System => false,
    }
}

/// Whether the author may post this message now: once a session has ended (R21), agents can
/// no longer write to the end user in it (internal notes stay possible); the end user's next
/// message starts a new session (R22). 409 `invalid_transition` otherwise.
pub fn check_post_allowed(
    conversation: &Conversation,
    author_role: AuthorRole,
    kind: MessageKind,
) -> Result<(), DomainError> {
    if author_role == AuthorRole::Agent
        && kind != MessageKind::InternalNote
        && conversation.session == SessionState::Ended
    {
        return Err(DomainError::InvalidTransition(
            "the session has ended; agents can reply once the end user writes again".into(),
        ));
    }
    Ok(())
}

/// The conversation after a new message (see [`message_changes_ticket`]), revision bumped, or
/// `None` when the message changes nothing. `settings` shape a new session (R3, R8).
pub fn apply_message(
    conversation: &Conversation,
    author_role: AuthorRole,
    kind: MessageKind,
    settings: &Settings,
    now: i64,
) -> Option<Conversation> {
    if !message_changes_ticket(conversation, author_role, kind) {
        return None;
    }
    let mut next = conversation.clone();
    let reopens_pending = conversation.session == SessionState::Active
        && conversation.ticket_status == TicketStatus::Pending;
    if author_role == AuthorRole::Agent || reopens_pending {
        next.ticket_status = TicketStatus::Open;
    } else {
        // An end user writing after the session ended or the ticket was solved/closed (R22).
        let fresh = new_conversation(
            &conversation.account_id,
            &conversation.owner_id,
            settings,
            now,
        );
        next.session = SessionState::Active;
        next.session_no += 1;
        next.ticket_id = fresh.ticket_id;
        next.ticket_status = TicketStatus::New;
        next.control = fresh.control;
        next.assignee = None;
        next.handoff_at = fresh.handoff_at;
        next.handoff_reason = None;
        // Ending or closing released the agent's capacity; a new session waits afresh.
        next.offer = None;
        next.held_capacity = None;
        next.routing_since = fresh.routing_since;
    }
    next.updated_at = now;
    next.revision += 1;
    Some(next)
}

/// R16/handoff: control passes to agents. Returns `None` when agents already have control.
pub fn hand_off(
    conversation: &Conversation,
    reason: Option<String>,
    now: i64,
) -> Option<Conversation> {
    if conversation.control == Control::Agent {
        return None;
    }
    let mut next = conversation.clone();
    next.control = Control::Agent;
    next.handoff_at = Some(now);
    next.routing_since = Some(now);
    next.handoff_reason = reason;
    next.updated_at = now;
    next.revision += 1;
    Some(next)
}

/// Conversation events from `POST …/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    TypingStart,
    TypingStop,
    Read,
    Delivered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(default)]
    pub seq: Option<u64>,
}

/// Applies an event by a caller of `role`. `last_seq` bounds read/delivered cursors, which only
/// move forward (a late, smaller `read` is harmless). Returns `None` when nothing changes.
pub fn apply_event(
    conversation: &Conversation,
    role: Role,
    event: &EventRequest,
    last_seq: u64,
    now: i64,
) -> Result<Option<Conversation>, DomainError> {
    let mut next = conversation.clone();
    let side = if role.is_staff() {
        &mut next.agents
    } else {
        &mut next.end_user
    };
    match event.kind {
        EventKind::TypingStart | EventKind::TypingStop => {
            if event.seq.is_some() {
                return Err(DomainError::InvalidRequest(
                    "typing events take no seq".into(),
                ));
            }
            side.typing_until =
                (event.kind == EventKind::TypingStart).then_some(now + TYPING_TTL_MS);
        }
        EventKind::Read | EventKind::Delivered => {
            let seq = event.seq.ok_or_else(|| {
                DomainError::InvalidRequest("read and delivered events need seq".into())
            })?;
            if seq > last_seq {
                return Err(DomainError::Unprocessable(format!(
                    "seq {seq} is beyond the conversation's last message ({last_seq})"
                )));
            }
            let cursor = if event.kind == EventKind::Read {
                &mut side.read_seq
            } else {
                &mut side.delivered_seq
            };
            *cursor = (*cursor).max(seq);
            // Whatever was read was delivered.
            if event.kind == EventKind::Read {
                side.delivered_seq = side.delivered_seq.max(seq);
            }
        }
    }
    if next == *conversation {
        return Ok(None);
    }
    next.updated_at = now;
    next.revision += 1;
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_post(text: &str) -> PostMessageRequest {
        PostMessageRequest {
            client_message_id: "cm-1".into(),
            kind: RequestedKind::Text,
            text: Some(text.into()),
            rich: None,
            attachment_ids: None,
        }
    }

    fn conversation() -> Conversation {
        new_conversation("acct", "alice", &Settings::default(), 1_000)
    }

    #[test]
    fn text_at_the_limit_is_accepted_and_one_more_character_refused() {
        let at_limit = "é".repeat(MAX_TEXT_CHARS);
        assert!(validate_post(Role::EndUser, text_post(&at_limit)).is_ok());
        let over = "é".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            validate_post(Role::EndUser, text_post(&over)),
            Err(DomainError::MessageTooLong {
                max: MAX_TEXT_CHARS
            })
        );
    }

    #[test]
    fn end_users_cannot_post_internal_notes() {
        let mut post = text_post("secret");
        post.kind = RequestedKind::InternalNote;
        assert_eq!(
            validate_post(Role::EndUser, post.clone()),
            Err(DomainError::InternalNoteForbidden)
        );
        assert_eq!(
            validate_post(Role::Agent, post).map(|p| p.kind),
            Ok(MessageKind::InternalNote)
        );
    }

    #[test]
    fn client_message_ids_with_separators_are_refused() {
        let mut post = text_post("hi");
        post.client_message_id = "a#b".into();
        assert!(matches!(
            validate_post(Role::EndUser, post),
            Err(DomainError::InvalidRequest(_))
        ));
    }

    #[test]
    fn same_request_hashes_equal_and_different_text_differs() {
        let a = validate_post(Role::EndUser, text_post("hello")).unwrap();
        let b = validate_post(Role::EndUser, text_post("hello")).unwrap();
        let c = validate_post(Role::EndUser, text_post("hello!")).unwrap();
        assert_eq!(a.request_hash, b.request_hash);
        assert_ne!(a.request_hash, c.request_hash);
    }

    #[test]
    fn rich_content_is_kept_and_rendered_as_text_for_agents() {
        let rich: RichContent = serde_json::from_value(serde_json::json!({
            "layout": "carousel",
            "text": "Pick a plan",
            "items": [
                {"title": "Basic", "description": "5 seats", "buttons": [{"label": "Buy", "url": "https://x.test/b"}]},
                {"title": "Pro"}
            ]
        }))
        .unwrap();
        let post = PostMessageRequest {
            client_message_id: "r1".into(),
            kind: RequestedKind::Rich,
            text: None,
            rich: Some(rich),
            attachment_ids: None,
        };
        let validated = validate_post(Role::Agent, post).unwrap();
        assert_eq!(
            validated.text.as_deref(),
            Some("Pick a plan\n1. Basic: 5 seats\n   [Buy] https://x.test/b\n2. Pro")
        );
        assert_eq!(validated.rich.unwrap()["items"][0]["title"], "Basic");
    }

    #[test]
    fn closed_tickets_never_reopen() {
        assert!(!TicketStatus::Closed.can_become(TicketStatus::Open));
        assert!(TicketStatus::Solved.can_become(TicketStatus::Open));
        assert!(!TicketStatus::Open.can_become(TicketStatus::New));
        assert!(TicketStatus::New.can_become(TicketStatus::Open));
    }

    #[test]
    fn agent_reply_opens_a_new_ticket_but_internal_notes_do_not() {
        let c = conversation();
        let s = Settings::default();
        assert!(apply_message(&c, AuthorRole::Agent, MessageKind::InternalNote, &s, 2).is_none());
        let opened = apply_message(&c, AuthorRole::Agent, MessageKind::Text, &s, 2).unwrap();
        assert_eq!(opened.ticket_status, TicketStatus::Open);
        assert_eq!(opened.revision, c.revision + 1);
    }

    #[test]
    fn end_user_message_after_session_end_starts_new_session_under_bot() {
        let mut c = conversation();
        c.session = SessionState::Ended;
        c.control = Control::Agent;
        c.assignee = Some("agent-1".into());
        let s = Settings::default();
        let next = apply_message(&c, AuthorRole::EndUser, MessageKind::Text, &s, 5).unwrap();
        assert_eq!(next.session, SessionState::Active);
        assert_eq!(next.session_no, 2);
        assert_ne!(next.ticket_id, c.ticket_id);
        assert_eq!(next.control, Control::Bot);
        assert_eq!(next.assignee, None);
        assert_eq!(next.id, c.id);
    }

    #[test]
    fn end_user_message_reopens_a_pending_ticket_in_the_same_session() {
        let mut c = conversation();
        c.ticket_status = TicketStatus::Pending;
        let s = Settings::default();
        let next = apply_message(&c, AuthorRole::EndUser, MessageKind::Text, &s, 5).unwrap();
        assert_eq!(next.ticket_status, TicketStatus::Open);
        assert_eq!(next.session_no, c.session_no);
        assert_eq!(next.ticket_id, c.ticket_id);
        // An end user writing on a new or open ticket changes nothing.
        c.ticket_status = TicketStatus::Open;
        assert!(apply_message(&c, AuthorRole::EndUser, MessageKind::Text, &s, 5).is_none());
    }

    #[test]
    fn new_conversation_follows_settings() {
        let mut s = Settings::default();
        s.messaging.enabled = false;
        s.bot.enabled = false;
        let c = new_conversation("a", "u", &s, 1);
        assert_eq!(c.channel, Channel::Chat);
        assert_eq!(c.control, Control::Agent);
        assert_eq!(c.tags, vec!["via_chat".to_string()]);
        assert!(needs_routing(&c));
    }

    #[test]
    fn read_cursor_only_moves_forward_and_is_bounded() {
        let c = conversation();
        let read = |seq| EventRequest {
            kind: EventKind::Read,
            seq: Some(seq),
        };
        let c2 = apply_event(&c, Role::EndUser, &read(3), 5, 10)
            .unwrap()
            .unwrap();
        assert_eq!(c2.end_user.read_seq, 3);
        assert_eq!(c2.end_user.delivered_seq, 3);
        assert!(apply_event(&c2, Role::EndUser, &read(2), 5, 11)
            .unwrap()
            .is_none());
        assert!(apply_event(&c2, Role::EndUser, &read(6), 5, 11).is_err());
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(clamp_page(None, 50, 100), 50);
        assert_eq!(clamp_page(Some(1000), 50, 100), 100);
        assert_eq!(clamp_page(Some(0), 50, 100), 1);
    }
}
