//! Real time (R27): which stored change becomes which event, and who may receive it.
//!
//! The change stream reports each stored conversation or message before and after a write;
//! `events_of` turns that into the events a screen shows, each with its audience. Who a
//! connection is, and what its role may see, is decided here once: the fan-out only looks up
//! the connections of an audience and applies `may_receive` to each.

use serde::{Deserialize, Serialize};

use serde_json::json;

use crate::messages::visible_to;
use crate::model::{Conversation, Message, Offer, Role};
use crate::rfc3339;
use crate::views::{conversation_view, message_view};

/// A stored item the real-time feed knows about.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Conversation(Box<Conversation>),
    Message(Box<Message>),
}

/// One write as the change stream reports it: the item before and after (`None` when it was
/// created or deleted). Items of other kinds never become a `StoredChange`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChange {
    pub before: Option<Stored>,
    pub after: Option<Stored>,
}

/// Whom a connection speaks for. End users and staff are told apart even when their ids are
/// equal: an end user `u1` never receives what agent `u1` may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Listener {
    pub account_id: String,
    pub user_id: String,
    pub role: Role,
}

impl Listener {
    /// The key connections are indexed by: role kind and id within the account.
    pub fn key(&self) -> String {
        let kind = if self.role.is_staff() {
            "staff"
        } else {
            "end_user"
        };
        format!("{kind}#{}", self.user_id)
    }
}

/// Which side of a conversation did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    EndUser,
    Agents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingState {
    Start,
    Stop,
}

impl TypingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
        }
    }
}

/// What a screen is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    MessageCreated(Box<Message>),
    ConversationUpdated(Box<Conversation>),
    Typing {
        conversation_id: String,
        author_id: String,
        state: TypingState,
        /// Tells one typing event from the next with the same state (the conversation's
        /// revision when stored, the relay's clock when not), so their frame ids differ.
        instant: u64,
    },
    Read {
        conversation_id: String,
        author_id: String,
        seq: u64,
    },
    OfferCreated(Offer),
    OfferWithdrawn(Offer),
}

impl Event {
    /// The wire name of the event (`type` of a server frame).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::MessageCreated(_) => "message.created",
            Self::ConversationUpdated(_) => "conversation.updated",
            Self::Typing { .. } => "typing",
            Self::Read { .. } => "read",
            Self::OfferCreated(_) => "offer.created",
            Self::OfferWithdrawn(_) => "offer.withdrawn",
        }
    }

    /// A frame id that is the same however often the event is produced (by the write's
    /// direct push and again by the stream, or by a retried batch), so a client can drop
    /// the copies it has already shown.
    pub fn id(&self) -> String {
        match self {
            Self::MessageCreated(m) => format!("msg:{}:{}", m.conversation_id, m.seq),
            Self::ConversationUpdated(c) => format!("conv:{}:{}", c.id, c.revision),
            Self::Typing {
                conversation_id,
                author_id,
                state,
                instant,
            } => format!(
                "typing:{conversation_id}:{author_id}:{}:{instant}",
                state.as_str()
            ),
            Self::Read {
                conversation_id,
                author_id,
                seq,
            } => format!("read:{conversation_id}:{author_id}:{seq}"),
            Self::OfferCreated(o) => format!("offer:{}", o.offer_id),
            Self::OfferWithdrawn(o) => format!("offer-withdrawn:{}", o.offer_id),
        }
    }
}

/// Who an event is for: named listeners of the account, plus (for conversation events) the
/// staff connections subscribed to that conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    pub account_id: String,
    pub listeners: Vec<Listener>,
    pub subscribers_of: Option<String>,
}

/// An event and its audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub event: Event,
    pub audience: Audience,
}

fn end_user(c: &Conversation) -> Listener {
    Listener {
        account_id: c.account_id.clone(),
        user_id: c.owner_id.clone(),
        role: Role::EndUser,
    }
}

fn agent(account_id: &str, agent_id: &str) -> Listener {
    Listener {
        account_id: account_id.to_string(),
        user_id: agent_id.to_string(),
        role: Role::Agent,
    }
}

/// Everyone of a conversation: its end user, its assignee and its subscribers.
fn participants(c: &Conversation) -> Audience {
    let mut listeners = vec![end_user(c)];
    listeners.extend(c.assignee.iter().map(|a| agent(&c.account_id, a)));
    Audience {
        account_id: c.account_id.clone(),
        listeners,
        subscribers_of: Some(c.id.clone()),
    }
}

/// The other party of `side`: staff (assignee and subscribers) for the end user's actions, the
/// end user for the agents'.
fn other_party(c: &Conversation, side: Side) -> Audience {
    match side {
        Side::EndUser => Audience {
            account_id: c.account_id.clone(),
            listeners: c.assignee.iter().map(|a| agent(&c.account_id, a)).collect(),
            subscribers_of: Some(c.id.clone()),
        },
        Side::Agents => Audience {
            account_id: c.account_id.clone(),
            listeners: vec![end_user(c)],
            subscribers_of: None,
        },
    }
}

/// Only the agent an offer is made to.
fn offered_agent(offer: &Offer) -> Audience {
    Audience {
        account_id: offer.account_id.clone(),
        listeners: vec![agent(&offer.account_id, &offer.agent_id)],
        subscribers_of: None,
    }
}

/// Who acted for `side` of `c` (the read cursor and typing state are kept per side).
fn actor(c: &Conversation, side: Side) -> String {
    match side {
        Side::EndUser => c.owner_id.clone(),
        Side::Agents => c.assignee.clone().unwrap_or_default(),
    }
}

/// The conversation a change's events cannot be addressed without: a new message names its
/// conversation but not who is in it.
pub fn conversation_needed(change: &StoredChange) -> Option<(&str, &str)> {
    match (&change.before, &change.after) {
        (None, Some(Stored::Message(m))) => Some((&m.account_id, &m.conversation_id)),
        _ => None,
    }
}

/// The events one stored change produces, each with its audience. `conversation` is the
/// current conversation of a new message (see `conversation_needed`).
///
/// - a new message: `message.created` to everyone of its conversation (read as each may see it);
/// - a conversation whose offer appeared or went: `offer.created` / `offer.withdrawn` to that
///   agent only;
/// - a read cursor that moved: `read` to the other party; typing that started or stopped:
///   `typing` to the other party;
/// - any other change of what a conversation shows (control, assignee, session, ticket,
///   priority, group, tags): `conversation.updated` to everyone of it.
pub fn events_of(change: &StoredChange, conversation: Option<&Conversation>) -> Vec<Delivery> {
    match (&change.before, &change.after) {
        (None, Some(Stored::Message(m))) => match conversation {
            Some(c) if c.id == m.conversation_id && c.account_id == m.account_id => {
                vec![Delivery {
                    event: Event::MessageCreated(m.clone()),
                    audience: participants(c),
                }]
            }
            // A conversation that is gone has no screen left to tell.
            _ => Vec::new(),
        },
        (before, Some(Stored::Conversation(after))) => {
            let before = match before {
                Some(Stored::Conversation(c)) => Some(c.as_ref()),
                _ => None,
            };
            conversation_changed(before, after)
        }
        // A message is never rewritten; deletions (TTL, erasure) tell no screen anything.
        _ => Vec::new(),
    }
}

fn conversation_changed(before: Option<&Conversation>, after: &Conversation) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    let before_offer = before.and_then(|b| b.offer.as_ref());
    match (before_offer, after.offer.as_ref()) {
        (None, Some(offer)) => deliveries.push(offer_created(offer)),
        (Some(old), None) => deliveries.push(offer_withdrawn(old, after)),
        (Some(old), Some(new)) if old.offer_id != new.offer_id => {
            deliveries.push(offer_withdrawn(old, after));
            deliveries.push(offer_created(new));
        }
        _ => {}
    }
    let Some(before) = before else {
        // A new conversation: its end user created it and already has it.
        return deliveries;
    };
    for side in [Side::EndUser, Side::Agents] {
        let (was, is) = (participant(before, side), participant(after, side));
        if is.read_seq > was.read_seq {
            deliveries.push(Delivery {
                event: Event::Read {
                    conversation_id: after.id.clone(),
                    author_id: actor(after, side),
                    seq: is.read_seq,
                },
                audience: other_party(after, side),
            });
        }
        if is.typing_until != was.typing_until {
            let state = if is.typing_until > was.typing_until {
                TypingState::Start
            } else {
                TypingState::Stop
            };
            deliveries.push(Delivery {
                event: Event::Typing {
                    conversation_id: after.id.clone(),
                    author_id: actor(after, side),
                    state,
                    instant: after.revision,
                },
                audience: other_party(after, side),
            });
        }
    }
    if shown_fields_differ(before, after) {
        // Whoever lost the conversation (a transfer, an offer withdrawn after acceptance) is
        // told too, so their screen stops showing it as theirs.
        let mut audience = participants(after);
        if let Some(previous) = &before.assignee {
            if after.assignee.as_ref() != Some(previous) {
                audience.listeners.push(agent(&after.account_id, previous));
            }
        }
        deliveries.push(Delivery {
            event: Event::ConversationUpdated(Box::new(after.clone())),
            audience,
        });
    }
    deliveries
}

fn participant(c: &Conversation, side: Side) -> &crate::model::ParticipantState {
    match side {
        Side::EndUser => &c.end_user,
        Side::Agents => &c.agents,
    }
}

/// Whether a screen showing the conversation would change (cursors, typing and the offer's
/// bookkeeping have events of their own).
fn shown_fields_differ(before: &Conversation, after: &Conversation) -> bool {
    before.control != after.control
        || before.assignee != after.assignee
        || before.session != after.session
        || before.session_no != after.session_no
        || before.ticket_status != after.ticket_status
        || before.ticket_id != after.ticket_id
        || before.priority != after.priority
        || before.group != after.group
        || before.tags != after.tags
}

fn offer_created(offer: &Offer) -> Delivery {
    Delivery {
        event: Event::OfferCreated(offer.clone()),
        audience: offered_agent(offer),
    }
}

fn offer_withdrawn(offer: &Offer, after: &Conversation) -> Delivery {
    // An accepted offer is not withdrawn: the agent now holds the conversation and gets its
    // `conversation.updated`.
    let accepted = after.assignee.as_deref() == Some(offer.agent_id.as_str());
    Delivery {
        event: if accepted {
            Event::ConversationUpdated(Box::new(after.clone()))
        } else {
            Event::OfferWithdrawn(offer.clone())
        },
        audience: offered_agent(offer),
    }
}

/// R27: whether a connection of `listener` may receive `event` at all (a second line behind
/// the audience: an end user never receives another end user's conversation or an internal
/// note, nobody receives another account's events).
pub fn may_receive(listener: &Listener, audience: &Audience, event: &Event) -> bool {
    if listener.account_id != audience.account_id {
        return false;
    }
    match event {
        Event::MessageCreated(m) => {
            visible_to(listener.role, m)
                && (listener.role.is_staff() || audience.listeners.contains(listener))
        }
        Event::OfferCreated(_) | Event::OfferWithdrawn(_) => listener.role.is_staff(),
        _ => listener.role.is_staff() || audience.listeners.contains(listener),
    }
}

/// A client's typing, relayed to the other party of the conversation without being stored.
/// `None` when `listener` is not a party who may type in it (another end user's conversation).
pub fn typing_relay(
    conversation: &Conversation,
    listener: &Listener,
    state: TypingState,
    now: i64,
) -> Option<Delivery> {
    if listener.account_id != conversation.account_id {
        return None;
    }
    let side = if listener.role.is_staff() {
        Side::Agents
    } else if listener.user_id == conversation.owner_id {
        Side::EndUser
    } else {
        return None;
    };
    Some(Delivery {
        event: Event::Typing {
            conversation_id: conversation.id.clone(),
            author_id: listener.user_id.clone(),
            state,
            instant: now.max(0) as u64,
        },
        audience: other_party(conversation, side),
    })
}

/// A server frame (`{"type", "id", "at", "data"}`) telling `event` as `reader` may see it.
pub fn server_frame(event: &Event, reader: Role, now: i64) -> String {
    let data = match event {
        Event::MessageCreated(m) => json!({
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuthorRole, MessageKind};
    use crate::model::{CapacityChannel, Control};
    use crate::rules::new_conversation;
    use crate::settings::Settings;

    fn conversation() -> Conversation {
        let mut c = new_conversation("acct", "eu-1", &Settings::default(), 1);
        c.id = "c1".into();
        c
    }

    fn message(kind: MessageKind) -> Message {
        Message {
            account_id: "acct".into(),
            conversation_id: "c1".into(),
            seq: 3,
            id: "m3".into(),
            client_message_id: "cm".into(),
            author_id: "ag-1".into(),
            author_role: AuthorRole::Agent,
            kind,
            text: Some("hi".into()),
            rich: None,
            attachment_ids: vec![],
            session_no: 1,
            ticket_id: "t".into(),
            created_at: 2,
            request_hash: "h".into(),
        }
    }

    fn change(before: &Conversation, after: &Conversation) -> Vec<Delivery> {
        events_of(
            &StoredChange {
                before: Some(Stored::Conversation(Box::new(before.clone()))),
                after: Some(Stored::Conversation(Box::new(after.clone()))),
            },
            None,
        )
    }

    /// The one delivery of a new message of `kind` in `c`.
    fn message_deliveries(c: &Conversation, kind: MessageKind) -> Delivery {
        let change = StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(message(kind)))),
        };
        assert_eq!(conversation_needed(&change), Some(("acct", "c1")));
        let mut deliveries = events_of(&change, Some(c));
        assert_eq!(deliveries.len(), 1);
        deliveries.remove(0)
    }

    #[test]
    fn new_message_reaches_end_user_assignee_and_subscribers_and_nothing_without_its_conversation()
    {
        let mut c = conversation();
        c.assignee = Some("ag-1".into());
        let delivery = message_deliveries(&c, MessageKind::Text);
        assert_eq!(delivery.event.id(), "msg:c1:3");
        assert_eq!(
            delivery.audience.listeners,
            vec![
                listener("eu-1", Role::EndUser),
                listener("ag-1", Role::Agent)
            ]
        );
        assert_eq!(delivery.audience.subscribers_of.as_deref(), Some("c1"));
        let change = StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(message(MessageKind::Text)))),
        };
        assert!(events_of(&change, None).is_empty());
        let mut other = c.clone();
        other.id = "c2".into();
        assert!(events_of(&change, Some(&other)).is_empty());
    }

    fn listener(user: &str, role: Role) -> Listener {
        Listener {
            account_id: "acct".into(),
            user_id: user.into(),
            role,
        }
    }

    fn offer(agent_id: &str, offer_id: &str) -> Offer {
        Offer {
            account_id: "acct".into(),
            conversation_id: "c1".into(),
            agent_id: agent_id.into(),
            offer_id: offer_id.into(),
            channel: CapacityChannel::Messaging,
            offered_at: 1,
            expires_at: 30_001,
        }
    }

    #[test]
    fn internal_note_reaches_staff_and_never_the_end_user() {
        let note = Event::MessageCreated(Box::new(message(MessageKind::InternalNote)));
        let mut c = conversation();
        c.assignee = Some("ag-1".into());
        let audience = message_deliveries(&c, MessageKind::InternalNote).audience;
        assert!(!may_receive(
            &listener("eu-1", Role::EndUser),
            &audience,
            &note
        ));
        assert!(may_receive(
            &listener("ag-1", Role::Agent),
            &audience,
            &note
        ));
        let text = Event::MessageCreated(Box::new(message(MessageKind::Text)));
        assert!(may_receive(
            &listener("eu-1", Role::EndUser),
            &audience,
            &text
        ));
    }

    #[test]
    fn another_end_user_and_another_account_receive_nothing() {
        let audience = message_deliveries(&conversation(), MessageKind::Text).audience;
        let text = Event::MessageCreated(Box::new(message(MessageKind::Text)));
        assert!(!may_receive(
            &listener("eu-2", Role::EndUser),
            &audience,
            &text
        ));
        let mut foreign = listener("ag-1", Role::Agent);
        foreign.account_id = "other".into();
        assert!(!may_receive(&foreign, &audience, &text));
    }

    #[test]
    fn end_user_and_agent_with_one_id_are_different_listeners() {
        assert_ne!(
            listener("u1", Role::EndUser).key(),
            listener("u1", Role::Agent).key()
        );
        assert_eq!(
            listener("u1", Role::Agent).key(),
            listener("u1", Role::Admin).key()
        );
    }

    #[test]
    fn offer_goes_to_the_offered_agent_and_its_withdrawal_follows() {
        let before = conversation();
        let mut offered = before.clone();
        offered.offer = Some(offer("ag-2", "o1"));
        let created = change(&before, &offered);
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].event.type_name(), "offer.created");
        assert_eq!(
            created[0].audience.listeners,
            vec![listener("ag-2", Role::Agent)]
        );
        assert_eq!(created[0].audience.subscribers_of, None);

        let withdrawn = change(&offered, &before);
        assert_eq!(withdrawn[0].event.type_name(), "offer.withdrawn");
        assert_eq!(withdrawn[0].event.id(), "offer-withdrawn:o1");
    }

    #[test]
    fn accepted_offer_is_an_update_for_the_agent_not_a_withdrawal() {
        let mut offered = conversation();
        offered.offer = Some(offer("ag-2", "o1"));
        let mut accepted = offered.clone();
        accepted.offer = None;
        accepted.assignee = Some("ag-2".into());
        accepted.control = Control::Agent;
        accepted.revision += 1;
        let events: Vec<_> = change(&offered, &accepted)
            .iter()
            .map(|d| d.event.type_name())
            .collect();
        assert!(!events.contains(&"offer.withdrawn"), "{events:?}");
        assert!(events.contains(&"conversation.updated"), "{events:?}");
    }

    #[test]
    fn read_and_typing_go_to_the_other_party_only() {
        let mut before = conversation();
        before.assignee = Some("ag-1".into());
        let mut after = before.clone();
        after.end_user.read_seq = 4;
        after.end_user.typing_until = Some(10_000);
        let deliveries = change(&before, &after);
        assert_eq!(
            deliveries
                .iter()
                .map(|d| d.event.type_name())
                .collect::<Vec<_>>(),
            vec!["read", "typing"]
        );
        for d in &deliveries {
            assert_eq!(d.audience.listeners, vec![listener("ag-1", Role::Agent)]);
            assert_eq!(d.audience.subscribers_of.as_deref(), Some("c1"));
        }
        let mut stopped = after.clone();
        stopped.end_user.typing_until = None;
        match &change(&after, &stopped)[0].event {
            Event::Typing { state, .. } => assert_eq!(*state, TypingState::Stop),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cursor_only_changes_are_not_conversation_updates_but_handoff_is() {
        let before = conversation();
        let mut delivered = before.clone();
        delivered.agents.delivered_seq = 2;
        assert!(change(&before, &delivered).is_empty());
        let mut handed = before.clone();
        handed.control = Control::Agent;
        let deliveries = change(&before, &handed);
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].event.type_name(), "conversation.updated");
        assert_eq!(
            deliveries[0].audience.listeners,
            vec![listener("eu-1", Role::EndUser)]
        );
    }

    #[test]
    fn previous_assignee_hears_that_the_conversation_left_them() {
        let mut before = conversation();
        before.assignee = Some("ag-1".into());
        let mut after = before.clone();
        after.assignee = Some("ag-2".into());
        let audience = &change(&before, &after)[0].audience;
        assert!(audience.listeners.contains(&listener("ag-1", Role::Agent)));
        assert!(audience.listeners.contains(&listener("ag-2", Role::Agent)));
    }

    #[test]
    fn frames_show_rich_content_to_end_users_and_its_text_to_staff() {
        let mut m = message(MessageKind::Rich);
        m.rich = Some(serde_json::json!({"layout": "card"}));
        let event = Event::MessageCreated(Box::new(m));
        let for_user: serde_json::Value =
            serde_json::from_str(&server_frame(&event, Role::EndUser, 5)).unwrap();
        assert_eq!(for_user["type"], "message.created");
        assert_eq!(for_user["id"], "msg:c1:3");
        assert_eq!(for_user["data"]["conversation_id"], "c1");
        assert_eq!(for_user["data"]["message"]["seq"], 3);
        assert_eq!(for_user["data"]["message"]["rich"]["layout"], "card");
        let for_agent: serde_json::Value =
            serde_json::from_str(&server_frame(&event, Role::Agent, 5)).unwrap();
        assert!(for_agent["data"]["message"].get("rich").is_none());
        assert_eq!(for_agent["data"]["message"]["text"], "hi");
    }

    #[test]
    fn typing_is_relayed_for_the_owner_and_staff_only() {
        let mut c = conversation();
        c.assignee = Some("ag-1".into());
        let from_owner = typing_relay(&c, &listener("eu-1", Role::EndUser), TypingState::Start, 5)
            .expect("the owner may type");
        assert_eq!(
            from_owner.audience.listeners,
            vec![listener("ag-1", Role::Agent)]
        );
        let from_agent = typing_relay(&c, &listener("ag-9", Role::Agent), TypingState::Stop, 5)
            .expect("staff may type");
        assert_eq!(
            from_agent.audience.listeners,
            vec![listener("eu-1", Role::EndUser)]
        );
        assert_eq!(
            typing_relay(&c, &listener("eu-2", Role::EndUser), TypingState::Start, 5),
            None
        );
    }

    #[test]
    fn the_listed_frame_types_are_exactly_what_events_and_answers_are_called() {
        let c = conversation();
        let events = [
            Event::MessageCreated(Box::new(message(MessageKind::Text))),
            Event::ConversationUpdated(Box::new(c.clone())),
            Event::Typing {
                conversation_id: "c1".into(),
                author_id: "a".into(),
                state: TypingState::Start,
                instant: 1,
            },
            Event::Read {
                conversation_id: "c1".into(),
                author_id: "a".into(),
                seq: 1,
            },
            Event::OfferCreated(offer("ag-1", "o1")),
            Event::OfferWithdrawn(offer("ag-1", "o1")),
        ];
        let mut named: Vec<String> = events.iter().map(|e| e.type_name().to_string()).collect();
        for answer in [pong_frame(1), error_frame(400, "invalid_frame", "x", 1)] {
            let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
            named.push(answer["type"].as_str().unwrap().to_string());
        }
        assert_eq!(named, SERVER_FRAME_TYPES);
        for action in CLIENT_ACTIONS {
            let frame = match *action {
                "ping" => json!({"action": "ping"}),
                "typing" => json!({"action": "typing", "conversation_id": "c", "state": "stop"}),
                _ => json!({"action": action, "conversation_id": "c"}),
            };
            assert!(parse_client_frame(&frame.to_string()).is_ok(), "{action}");
        }
    }

    #[test]
    fn client_frames_are_parsed_strictly() {
        assert_eq!(
            parse_client_frame(r#"{"action":"ping"}"#),
            Ok(ClientFrame::Ping {})
        );
        assert_eq!(
            parse_client_frame(r#"{"action":"typing","conversation_id":"c1","state":"start"}"#),
            Ok(ClientFrame::Typing {
                conversation_id: "c1".into(),
                state: TypingState::Start
            })
        );
        for bad in [
            "not json",
            r#"{"action":"dance"}"#,
            r#"{"action":"ping","extra":1}"#,
            r#"{"action":"subscribe"}"#,
            r#"{"action":"typing","conversation_id":"c1","state":"maybe"}"#,
        ] {
            assert_eq!(parse_client_frame(bad), Err(FrameError::Malformed), "{bad}");
        }
        let huge = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(1 << 20));
        assert_eq!(parse_client_frame(&huge), Err(FrameError::TooLarge));
    }
}
