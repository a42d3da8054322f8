//! Real time (R27): which stored change becomes which event, and who may receive it.
//!
//! The change stream reports each stored conversation or message before and after a write;
//! `events_of` turns that into the events a screen shows, each with its audience. Who a
//! connection is, and what its role may see, is decided here once: the fan-out only looks up
//! the connections of an audience and applies `may_receive` to each.

use serde::{Deserialize, Serialize};

use crate::messages::visible_to;
use crate::model::{Conversation, Message, Offer, Role};

mod direct;
mod frames;
pub use direct::*;
pub use frames::*;

/// A stored item the real-time feed knows about. Serialized in a stream reaction's retry job
/// (`stream_reactions::ReactionJob`), so a failed reaction can be run again from its change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    Conversation(Box<Conversation>),
    Message(Box<Message>),
    /// A satisfaction rating, as listed by time (`csat.submitted` webhooks follow it).
    Rating(Box<crate::sessions::CsatRequest>),
}

impl Stored {
    /// The account the item belongs to.
    pub fn account_id(&self) -> &str {
        match self {
            Self::Conversation(c) => &c.account_id,
            Self::Message(m) => &m.account_id,
            Self::Rating(r) => &r.account_id,
        }
    }
}

/// One write as the change stream reports it: the item before and after (`None` when it was
/// created or deleted). Items of other kinds never become a `StoredChange`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A message's content was removed (its tombstone, as each reader may see it).
    MessageRedacted(Box<Message>),
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
            Self::MessageRedacted(_) => "message.redacted",
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
            Self::MessageRedacted(m) => format!("redacted:{}:{}", m.conversation_id, m.seq),
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

/// `message.created` of `m` for everyone of its conversation `c` (the change stream's and its
/// writer's alike, `direct`).
pub fn message_created(c: &Conversation, m: &Message) -> Delivery {
    Delivery {
        event: Event::MessageCreated(Box::new(m.clone())),
        audience: participants(c),
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
        (Some(Stored::Message(_)), Some(Stored::Message(m))) if m.redacted.is_some() => {
            Some((&m.account_id, &m.conversation_id))
        }
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
                vec![message_created(c, m)]
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
        // A message is rewritten only to redact it: its readers replace it by the tombstone.
        (Some(Stored::Message(before)), Some(Stored::Message(m)))
            if before.redacted.is_none() && m.redacted.is_some() =>
        {
            match conversation {
                Some(c) if c.id == m.conversation_id && c.account_id == m.account_id => {
                    vec![Delivery {
                        event: Event::MessageRedacted(m.clone()),
                        audience: participants(c),
                    }]
                }
                _ => Vec::new(),
            }
        }
        // Deletions (TTL) tell no screen anything.
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
        || before.end_user_profile != after.end_user_profile
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
        Event::MessageCreated(m) | Event::MessageRedacted(m) => {
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

#[cfg(test)]
mod tests;
