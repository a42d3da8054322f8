//! Domain types: accounts and their signing keys, conversations (each one a ticket), messages.

use serde::{Deserialize, Serialize};

/// A tenant. Capabilities are the features its plan includes (e.g. `csat.customizable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub capabilities: Vec<String>,
    pub created_at: i64,
    /// When messaging was first enabled for the account (R4 uses it), if ever.
    #[serde(default)]
    pub messaging_enabled_at: Option<i64>,
    /// The widget key drawn at random when the account was created (#33 item 5); accounts
    /// made before it have none and keep their derived first key until rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widget_key: Option<String>,
}

impl Account {
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// An HS256 secret an account signs its users' tokens with, named by `kid`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    pub account_id: String,
    pub kid: String,
    pub secret: String,
    pub created_at: i64,
}

impl std::fmt::Debug for SigningKey {
    // Secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("account_id", &self.account_id)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    EndUser,
    Agent,
    Admin,
    /// An integration key's holder (never a token's claim: [`Role::parse`] refuses it).
    Integration,
}

impl Role {
    /// A token's `role` claim: the three roles a company may sign.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "end_user" => Some(Self::EndUser),
            "agent" => Some(Self::Agent),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndUser => "end_user",
            Self::Agent => "agent",
            Self::Admin => "admin",
            Self::Integration => "integration",
        }
    }

    /// Admins may do everything agents do.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Agent | Self::Admin)
    }
}

/// R17: where a conversation came from; routing rules and capacity are per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Messaging,
    Chat,
    Email,
}

impl Channel {
    pub fn tag(self) -> &'static str {
        match self {
            Self::Messaging => "via_messaging",
            Self::Chat => "via_chat",
            Self::Email => "via_email",
        }
    }
}

/// Who answers the end user right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    Bot,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Active,
    Ended,
}

/// R17: the ticket behind a conversation's current session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Open,
    Pending,
    Solved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Solved => "solved",
            Self::Closed => "closed",
        }
    }
}

/// Read/delivered cursors and typing state of one side of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantState {
    #[serde(default)]
    pub read_seq: u64,
    #[serde(default)]
    pub delivered_seq: u64,
    /// Epoch ms until which this side is shown as typing (typing indicators expire by themselves).
    #[serde(default)]
    pub typing_until: Option<i64>,
}

/// A persistent conversation (R12). Its current session is a ticket (R17); a new session starts a
/// new ticket in the same history (R22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub account_id: String,
    pub id: String,
    /// The end user (token `sub`) who started it.
    pub owner_id: String,
    pub channel: Channel,
    pub control: Control,
    pub assignee: Option<String>,
    pub session: SessionState,
    /// 1 for the first session, incremented by each new session (R22).
    pub session_no: u32,
    pub ticket_id: String,
    pub ticket_status: TicketStatus,
    pub tags: Vec<String>,
    /// Higher is routed first (R23).
    pub priority: Priority,
    pub group: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When control last passed to agents (handoff), if ever.
    pub handoff_at: Option<i64>,
    pub handoff_reason: Option<String>,
    pub end_user: ParticipantState,
    pub agents: ParticipantState,
    /// Optimistic-concurrency counter: every update must name the revision it read.
    pub revision: u64,
    /// The standing offer to an agent (R23, R25), if any.
    #[serde(default)]
    pub offer: Option<Offer>,
    /// The capacity the conversation holds on its offered or assigned agent (R24, R5).
    #[serde(default)]
    pub held_capacity: Option<CapacityChannel>,
    /// When it first started waiting for an agent in this session: its age in the waiting
    /// list, kept when an offer is withdrawn and it waits again.
    #[serde(default)]
    pub routing_since: Option<i64>,
    /// Who the end user is, as their token last said (name and email are optional claims).
    #[serde(default)]
    pub end_user_profile: EndUserProfile,
    /// When its newest message was stored: the inbox's "newest activity" order. Kept by the
    /// change stream's consumer, so it only ever moves forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<i64>,
    /// Where the end user is (pages, browser), as their widget last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_context: Option<crate::visitor_context::VisitorContext>,
    /// A transfer to one agent: only that agent is offered it until someone accepts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to: Option<String>,
    /// Who made the change that produced `changed_by.revision`; a later revision without a
    /// stamp of its own is the system's (the ticket history never credits the wrong person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangeAuthor>,
    /// When the table's TTL deletes it (epoch seconds): set only while it is at rest in an
    /// account that keeps conversations for a limited time (`retention`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl Conversation {
    /// The inbox's activity time: its newest message, or its start while it has none.
    pub fn activity_at(&self) -> i64 {
        self.last_message_at
            .unwrap_or(self.created_at)
            .max(self.created_at)
    }

    /// Credits the change to revision `self.revision` to `by` (call after bumping it).
    pub fn stamp(&mut self, by: Actor) {
        self.changed_by = Some(ChangeAuthor {
            actor: by,
            revision: self.revision,
        });
    }

    /// Who made the latest revision, `None` for the system.
    pub fn latest_author(&self) -> Option<&Actor> {
        self.changed_by
            .as_ref()
            .filter(|c| c.revision == self.revision)
            .map(|c| &c.actor)
    }
}

/// A person who changed something: their role and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub role: Role,
    pub id: String,
}

/// The author of one revision of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeAuthor {
    pub actor: Actor,
    pub revision: u64,
}

/// Who the end user is beyond their id: optional `name`, `email` and `locale` claims of
/// their token (`locale` only when it names a language we speak: `domain::locale`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<crate::locale::Locale>,
}

/// How urgent a conversation is; routing offers higher ones first (R23).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// Its place in routing order, higher first.
    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

/// The kinds of message a conversation holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Rich,
    Attachment,
    InternalNote,
    System,
}

/// Who wrote a message, as shown in history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    EndUser,
    Agent,
    Bot,
    System,
}

impl From<Role> for AuthorRole {
    fn from(role: Role) -> Self {
        match role {
            Role::EndUser => Self::EndUser,
            Role::Agent | Role::Admin => Self::Agent,
            Role::Integration => Self::Bot,
        }
    }
}

/// A stored message. `seq` is its position in the conversation (R13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub account_id: String,
    pub conversation_id: String,
    pub seq: u64,
    pub id: String,
    pub client_message_id: String,
    pub author_id: String,
    pub author_role: AuthorRole,
    pub kind: MessageKind,
    /// Plain text as sent; for rich messages the text-only rendering (R15).
    pub text: Option<String>,
    /// Rich content exactly as sent (R15).
    pub rich: Option<serde_json::Value>,
    pub attachment_ids: Vec<String>,
    pub session_no: u32,
    pub ticket_id: String,
    pub created_at: i64,
    /// SHA-256 of the canonical request, to tell a retry from a conflicting reuse (R14).
    pub request_hash: String,
    /// Set when its content was removed (`messages::redacted`): a tombstone keeps its seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<Redaction>,
    /// The seq at which the request that wrote it pushes it itself (`realtime::direct`);
    /// never shown to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_push_seq: Option<u64>,
}

/// Why a message's content is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionReason {
    /// Staff removed it (`POST …/messages/{seq}/redact`).
    Redacted,
    /// Its author was erased (`DELETE /v1/end-users/{user_id}`).
    Erased,
}

/// Who removed a message's content, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub reason: RedactionReason,
    pub by: String,
    pub at: i64,
}

/// What appending a message did.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// Stored now, with this sequence number.
    Created(Message),
    /// The same author already used this `client_message_id`; this is the stored message.
    Existing(Message),
}

/// Body of a routing-queue message. With a `conversation_id`: "this conversation needs an
/// agent"; without: "capacity may have freed, route the account's waiting conversations"; with
/// an `offer_id`: "this offer's time is up" (sent with the queue's delay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRequest {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    /// Why routing was asked for (`handoff`, `bot_disabled`, `agent_online`, `offer_timeout`…),
    /// for logs and metrics.
    pub reason: String,
    pub requested_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
}

/// The capacity a conversation counts against. Live chats share the messaging capacity (one
/// real-time queue for agents); email is separate (R5 moves ended sessions there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityChannel {
    Messaging,
    Email,
}

impl CapacityChannel {
    pub fn of(channel: Channel) -> Self {
        match channel {
            Channel::Messaging | Channel::Chat => Self::Messaging,
            Channel::Email => Self::Email,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messaging => "messaging",
            Self::Email => "email",
        }
    }
}

/// An offer of a conversation to one agent, recorded on the conversation and listed for the
/// agent until accepted or withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub account_id: String,
    pub conversation_id: String,
    pub agent_id: String,
    pub offer_id: String,
    pub channel: CapacityChannel,
    pub offered_at: i64,
    pub expires_at: i64,
}
