//! Ending messaging sessions and closing tickets (R5, R6, R17, R20–R22, and R3's live-chat
//! ending), as pure rules. Each rule returns a [`SessionChange`]: everything that must happen
//! together, which the store writes as one atomic step (`SessionStore::commit_session_change`),
//! so there is never a state where only half of it happened.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::locale::Locale;
use crate::model::{Control, Conversation, Message, SessionState, TicketStatus};
use crate::routing::{needs_routing, Agent, CapacityChannel, Offer, WaitingEntry};
use crate::rules::system_message;
use crate::settings::{EndedSessionRouting, Settings};

/// R21: what the end user reads when an agent ends the session (in their language:
/// `domain::locale`; the `_TEXT` constants are the English ones).
pub const SESSION_ENDED_KEY: &str = "session-ended";
pub const SESSION_ENDED_TEXT: &str = crate::locale::EN.session_ended;
/// What the end user reads when an agent solves the ticket of a session still running.
pub const TICKET_SOLVED_KEY: &str = "ticket-solved";
pub const TICKET_SOLVED_TEXT: &str = crate::locale::EN.ticket_solved;
/// R3: what the end user of a live chat reads when messaging is turned on.
pub const LIVE_CHAT_ENDED_KEY: &str = "live-chat-ended";
pub const LIVE_CHAT_ENDED_TEXT: &str = crate::locale::EN.live_chat_ended;

/// R6: a satisfaction survey to send for one ended session. Recorded in an outbox keyed by
/// (conversation, session), in the same atomic step as the end, so it exists exactly once
/// however often the end is retried or raced; a survey sender consumes the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatRequest {
    pub account_id: String,
    pub conversation_id: String,
    pub session_no: u32,
    pub ticket_id: String,
    /// Who the survey goes to.
    pub end_user_id: String,
    /// The agent the survey is about (the assignee), when one was assigned.
    pub agent_id: Option<String>,
    /// Who ended the session.
    pub ended_by: String,
    pub ended_at: i64,
    /// The end user's rating, 1-5, once given (`surveys::rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated_at: Option<i64>,
    /// The language the survey is asked in: the conversation's when the session ended
    /// (`locale::in_conversation`); English for requests recorded before languages existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
}

impl CsatRequest {
    /// This request without the person (R34): their id replaced by `erased_as`, the comment
    /// gone; `None` when there is nothing of them left to erase.
    pub fn without_end_user(&self, erased_as: &str) -> Option<CsatRequest> {
        if self.end_user_id == erased_as && self.comment.is_none() {
            return None;
        }
        Some(CsatRequest {
            end_user_id: erased_as.to_string(),
            comment: None,
            ..self.clone()
        })
    }
}

/// A change to an agent's load: one conversation's worth leaves `from`, and moves to `to` when
/// given (R5 re-classification) instead of being released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRelease {
    pub agent_id: String,
    pub from: CapacityChannel,
    pub to: Option<CapacityChannel>,
}

impl CapacityRelease {
    /// Whether this frees a slot other conversations could be routed to.
    pub fn frees_capacity(&self) -> bool {
        self.to != Some(self.from)
    }
}

/// Everything one session-lifecycle step writes, atomically:
/// - `conversation` replaces the stored one if its revision is still `revision - 1`;
/// - `notice` is appended at the conversation's next sequence number (with its idempotency
///   record, so it is written once per session);
/// - `csat` is recorded in the outbox, once per (conversation, session);
/// - `capacity` moves the agent's load (conditioned on the load being there, and on spare
///   capacity on `to`);
/// - `withdrawn_offer` is removed from the agent's offers;
/// - `left_waiting` leaves the waiting list.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionChange {
    pub conversation: Conversation,
    pub notice: Option<Message>,
    pub csat: Option<CsatRequest>,
    pub capacity: Option<CapacityRelease>,
    pub withdrawn_offer: Option<Offer>,
    pub left_waiting: Option<WaitingEntry>,
}

impl SessionChange {
    fn new(conversation: Conversation) -> Self {
        Self {
            conversation,
            notice: None,
            csat: None,
            capacity: None,
            withdrawn_offer: None,
            left_waiting: None,
        }
    }

    /// Whether waiting conversations should be routed afterwards.
    pub fn frees_capacity(&self) -> bool {
        self.capacity
            .as_ref()
            .is_some_and(CapacityRelease::frees_capacity)
    }
}

/// The agent whose capacity the conversation occupies, and on which channel: the agent it is
/// offered to, or its assignee while it holds capacity.
pub fn capacity_holder(conversation: &Conversation) -> Option<(String, CapacityChannel)> {
    if let Some(offer) = &conversation.offer {
        return Some((offer.agent_id.clone(), offer.channel));
    }
    match (&conversation.assignee, conversation.held_capacity) {
        (Some(agent), Some(channel)) => Some((agent.clone(), channel)),
        _ => None,
    }
}

/// What leaving agents' hands does to a conversation, shared by end, close and R3: the
/// session is over, control returns to the bot, no offer stands and nobody is typing.
/// Capacity bookkeeping is the caller's.
fn hand_back_to_bot(current: &Conversation, now: i64) -> (Conversation, SessionChange) {
    let mut next = current.clone();
    next.session = SessionState::Ended;
    next.control = Control::Bot;
    next.offer = None;
    next.end_user.typing_until = None;
    next.agents.typing_until = None;
    next.updated_at = now;
    next.revision += 1;
    let mut change = SessionChange::new(next.clone());
    change.withdrawn_offer = current.offer.clone();
    if needs_routing(current) {
        change.left_waiting = Some(WaitingEntry::for_conversation(current));
    }
    (next, change)
}

/// Releases (or, with `move_to`, re-classifies) whatever capacity `current` holds, as read
/// from `holder` (the holding agent's record; `None` when it does not exist). Returns the
/// capacity the conversation holds afterwards.
fn release_held(
    current: &Conversation,
    holder: Option<&Agent>,
    move_to: Option<CapacityChannel>,
    change: &mut SessionChange,
) -> Option<CapacityChannel> {
    let (agent_id, from) = capacity_holder(current)?;
    let agent = holder.filter(|a| a.id == agent_id && a.load(from) > 0)?;
    // An offer never accepted is not the agent's ticket: its capacity is always released.
    let wanted = if current.offer.is_some() {
        None
    } else {
        move_to
    };
    if wanted == Some(from) {
        // Already counted where R5 wants it: nothing moves.
        return Some(from);
    }
    let to = wanted.filter(|to| agent.spare(*to) > 0);
    change.capacity = Some(CapacityRelease { agent_id, from, to });
    to
}

/// R20/R21: an agent (or admin) ends the conversation's session. `holder` is the record of the
/// agent whose capacity the conversation holds (see [`capacity_holder`]). `None` when the
/// session has already ended (ending twice is harmless).
///
/// - 403 `session_ending_disabled` unless `messaging.agents_can_end_sessions` (R20);
/// - the session ends and control returns to the bot; the ticket keeps its status and
///   assignee (the agent still owns the follow-up);
/// - the end user is told with a system message;
/// - with `messaging.csat_on_session_end` (R6) a CSAT request is recorded;
/// - R5: the assignee's messaging capacity is released (`messaging`), or moved to its email
///   capacity (`email`) when it has email capacity to spare (released otherwise: R24 never
///   lets a load exceed its capacity); a standing offer is withdrawn and its capacity released.
pub fn end_session(
    current: &Conversation,
    settings: &Settings,
    holder: Option<&Agent>,
    ended_by: &str,
    now: i64,
) -> Result<Option<SessionChange>, DomainError> {
    if !settings.messaging.agents_can_end_sessions {
        return Err(DomainError::SessionEndingDisabled);
    }
    Ok(end_with_notice(
        current,
        settings,
        holder,
        ended_by,
        crate::locale::in_conversation(current, settings)
            .texts()
            .session_ended,
        now,
    ))
}

/// R21's step, whoever ends the session (an agent, or the system when it went idle): the
/// notice says why, under the one key a survey follows (`surveys::is_session_end_notice`).
pub(crate) fn end_with_notice(
    current: &Conversation,
    settings: &Settings,
    holder: Option<&Agent>,
    ended_by: &str,
    notice_text: &str,
    now: i64,
) -> Option<SessionChange> {
    if current.session == SessionState::Ended {
        return None;
    }
    let (mut next, mut change) = hand_back_to_bot(current, now);
    let move_to = match settings.messaging.ended_session_routing {
        EndedSessionRouting::Messaging => None,
        EndedSessionRouting::Email => Some(CapacityChannel::Email),
    };
    next.held_capacity = release_held(current, holder, move_to, &mut change);
    change.conversation = next;
    change.notice = Some(system_message(current, SESSION_ENDED_KEY, notice_text, now));
    if settings.messaging.csat_on_session_end {
        change.csat = Some(CsatRequest {
            account_id: current.account_id.clone(),
            conversation_id: current.id.clone(),
            session_no: current.session_no,
            ticket_id: current.ticket_id.clone(),
            end_user_id: current.owner_id.clone(),
            agent_id: current.assignee.clone(),
            ended_by: ended_by.to_string(),
            ended_at: now,
            score: None,
            comment: None,
            rated_at: None,
            locale: Some(crate::locale::in_conversation(current, settings)),
        });
    }
    Some(change)
}

/// Where a transfer sends a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// Offered to this agent only.
    Agent(String),
    /// Routed within this group (it becomes the conversation's group).
    Group(String),
}

/// A staff member hands the conversation on (spec "Agent workspace"): the current assignee's
/// (or offered agent's) slot is released in the same atomic step, as ending does (R24), and
/// the conversation waits again, keeping its age, for `target`. `holder` is the record of the
/// agent whose capacity it holds. 422 `invalid_field` for a group no conversation can have;
/// 409 `invalid_transition` unless agents hold it in a running session.
pub fn transfer(
    current: &Conversation,
    holder: Option<&Agent>,
    target: &TransferTarget,
    by: crate::model::Actor,
    now: i64,
) -> Result<SessionChange, DomainError> {
    if let TransferTarget::Group(group) = target {
        crate::workspace::check_group(group)?;
    }
    if current.session != SessionState::Active || current.control != Control::Agent {
        return Err(DomainError::InvalidTransition(
            "only a conversation agents hold in a running session can be transferred".into(),
        ));
    }
    let mut next = current.clone();
    next.assignee = None;
    next.offer = None;
    next.agents.typing_until = None;
    match target {
        TransferTarget::Agent(agent) => next.transfer_to = Some(agent.clone()),
        TransferTarget::Group(group) => {
            next.group = Some(group.clone());
            next.transfer_to = None;
        }
    }
    next.routing_since = Some(WaitingEntry::for_conversation(current).since);
    next.updated_at = now;
    next.revision += 1;
    next.stamp(by);
    let mut change = SessionChange::new(next);
    change.withdrawn_offer = current.offer.clone();
    if needs_routing(current) {
        change.left_waiting = Some(WaitingEntry::for_conversation(current));
    }
    change.conversation.held_capacity = release_held(current, holder, None, &mut change);
    Ok(change)
}

/// Whether the conversation's ticket is solved or closed.
fn ticket_finished(conversation: &Conversation) -> bool {
    matches!(
        conversation.ticket_status,
        TicketStatus::Solved | TicketStatus::Closed
    )
}

/// R17/R22: an agent solves the conversation's ticket. The session ends too (the end user's
/// next message starts a new session and ticket under the bot), control returns to the bot,
/// and every bit of capacity the ticket held is released. `None` when the ticket is already
/// solved or closed and the session over (closing twice is harmless).
pub fn close_ticket(
    current: &Conversation,
    holder: Option<&Agent>,
    locale: Locale,
    now: i64,
) -> Result<Option<SessionChange>, DomainError> {
    let finished = ticket_finished(current);
    if finished && current.session == SessionState::Ended && capacity_holder(current).is_none() {
        return Ok(None);
    }
    let (mut next, mut change) = hand_back_to_bot(current, now);
    if !finished {
        transition_ticket(&mut next, TicketStatus::Solved)?;
    }
    next.held_capacity = release_held(current, holder, None, &mut change);
    change.conversation = next;
    if current.session == SessionState::Active {
        change.notice = Some(system_message(
            current,
            TICKET_SOLVED_KEY,
            locale.texts().ticket_solved,
            now,
        ));
    }
    Ok(Some(change))
}

/// #36: the end user says the bot's answer solved it ("That answered it", `relay:resolved`).
/// Only while the bot holds a running session (else `NotUnderBotControl`: agents decide once
/// they hold it); the ticket is solved as [`close_ticket`] solves it, and reports count a bot
/// resolution. A repeat finds the ticket solved and the session ended, and changes nothing.
pub fn resolve_with_bot(
    current: &Conversation,
    locale: Locale,
    now: i64,
) -> Result<Option<SessionChange>, DomainError> {
    if ticket_finished(current) && current.session == SessionState::Ended {
        return Ok(None);
    }
    if current.control != Control::Bot || current.session != SessionState::Active {
        return Err(DomainError::NotUnderBotControl);
    }
    close_ticket(current, None, locale, now)
}

/// R3: turning messaging on ends an active live-chat session: its ticket becomes pending,
/// the end user is told, and the capacity it held is released. `None` when it is not an
/// active live chat (retries are harmless).
pub fn end_live_chat(
    current: &Conversation,
    holder: Option<&Agent>,
    locale: Locale,
    now: i64,
) -> Option<SessionChange> {
    if !crate::rules::is_active_live_chat(current) {
        return None;
    }
    let (mut next, mut change) = hand_back_to_bot(current, now);
    if next.ticket_status.can_become(TicketStatus::Pending) {
        next.ticket_status = TicketStatus::Pending;
    }
    next.held_capacity = release_held(current, holder, None, &mut change);
    change.conversation = next;
    change.notice = Some(system_message(
        current,
        LIVE_CHAT_ENDED_KEY,
        locale.texts().live_chat_ended,
        now,
    ));
    Some(change)
}

/// R22: a new session (started by the end user's message after an end or a close) no longer
/// counts against the previous ticket's agent: capacity the old session still held (R5's
/// email re-classification) is released in the same step. `next` is the conversation with
/// its new session (see `rules::apply_message`).
pub fn start_new_session(
    current: &Conversation,
    next: Conversation,
    holder: Option<&Agent>,
) -> SessionChange {
    let mut change = SessionChange::new(next);
    change.conversation.held_capacity = release_held(current, holder, None, &mut change);
    change
}

/// R17: moves the ticket to `status`, or explains why it cannot (409 `invalid_transition`).
pub fn transition_ticket(
    conversation: &mut Conversation,
    status: TicketStatus,
) -> Result<(), DomainError> {
    if !conversation.ticket_status.can_become(status) {
        return Err(DomainError::InvalidTransition(format!(
            "a {} ticket cannot become {}",
            conversation.ticket_status.as_str(),
            status.as_str()
        )));
    }
    conversation.ticket_status = status;
    Ok(())
}

#[cfg(test)]
mod tests;
