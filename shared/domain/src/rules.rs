//! Domain rules R12–R17 (and the parts of R8/R3/R22 that shape a conversation), free of I/O:
//! a new conversation, what a message does to its ticket, handoff, typing/read events. The
//! message itself (body, limits, validation, visibility) is in `messages`, re-exported here.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::new_id;
use crate::model::{
    AuthorRole, Channel, Control, Conversation, EndUserProfile, MessageKind, ParticipantState,
    Priority, Role, SessionState, TicketStatus,
};
use crate::settings::Settings;

pub use crate::messages::*;

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
        priority: Priority::Normal,
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
        end_user_profile: EndUserProfile::default(),
        last_message_at: None,
        visitor_context: None,
        transfer_to: None,
        changed_by: None,
        expires_at: None,
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
    // A bot integration speaks only while the bot holds the conversation (spec
    // "Integrations"), and only in words and cards.
    if author_role == AuthorRole::Bot {
        if conversation.control != crate::model::Control::Bot {
            return Err(DomainError::NotUnderBotControl);
        }
        if !matches!(kind, MessageKind::Text | MessageKind::Rich) {
            return Err(DomainError::Unprocessable(
                "bots post text or rich messages".into(),
            ));
        }
    }
    if matches!(author_role, AuthorRole::Agent | AuthorRole::Bot)
        && kind != MessageKind::InternalNote
        && conversation.session == SessionState::Ended
    {
        return Err(DomainError::InvalidTransition(
            "the session has ended; agents and bots can reply once the end user writes again"
                .into(),
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
    /// A number when present: `null` is refused (400), as the contract says.
    #[serde(default, deserialize_with = "crate::fields::present")]
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
