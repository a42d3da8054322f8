//! Reports (`GET /v1/reports/messaging`): what the change stream counts per account, day (in
//! the account's time zone), agent and group, once.
//!
//! A stored change becomes observations (`observations_of`): a session started, a handoff, an
//! accept, an offer that timed out, an agent's message, a ticket solved, a session ended, a
//! rating. Each is counted against its session's measure (`SessionMeasure`, one per
//! conversation session): `count` answers the measure after it and the tallies to add to rows
//! (one; three when a handoff moves the session's start to its group), or nothing when the
//! measure shows it was counted already. The store writes them at once, on condition of the
//! measure's version, so a redelivered change counts once, and a report reads rows, never
//! conversations (`lines`).
//!
//! Definitions (docs/decisions.md, "Reports"): the first reply time runs from the session's
//! handoff to its first agent message (bot and system messages never count; a new session is a
//! new measure); the wait runs from the handoff to the session's first accept; the handle time
//! from that accept to the session's end; a one-touch resolution is a ticket an agent solved
//! after exactly one agent message in its session; a bot resolution is a ticket solved in a
//! session that never reached an agent.

pub mod histogram;
mod lines;
pub mod packed;
mod query;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{AuthorRole, Conversation, SessionState, TicketStatus};
use crate::realtime::{Stored, StoredChange};
pub use lines::{lines, Average, Csat, GroupBy, Percentiles, ReportLine};
pub use query::{counting_zone, ReportQuery, DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS};

/// A time zone the days of a report are counted in.
pub type Zone = jiff::tz::TimeZone;

/// The counters a row holds besides histogram buckets (`{measure}_b{index}`).
pub const CONVERSATIONS_STARTED: &str = "conversations_started";
pub const HANDOFFS: &str = "handoffs";
pub const BOT_RESOLUTIONS: &str = "bot_resolutions";
pub const SOLVED_BY_AGENTS: &str = "solved_by_agents";
pub const ONE_TOUCH_RESOLUTIONS: &str = "one_touch_resolutions";
pub const OFFERS_TIMED_OUT: &str = "offers_timed_out";
pub const CSAT_RESPONSES: &str = "csat_responses";
pub const CSAT_SCORE_SUM: &str = "csat_score_sum";

/// The durations a report shows percentiles or averages of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    FirstReply,
    WaitToAccept,
    HandleTime,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Self::FirstReply, Self::WaitToAccept, Self::HandleTime];

    pub fn name(self) -> &'static str {
        match self {
            Self::FirstReply => "first_reply",
            Self::WaitToAccept => "wait_to_accept",
            Self::HandleTime => "handle_time",
        }
    }

    /// The counter of bucket `index` of this measure.
    pub fn bucket(self, index: u32) -> String {
        format!("{}_b{index}", self.name())
    }

    /// The counter of the measure's total milliseconds (for averages).
    pub fn sum(self) -> String {
        format!("{}_sum_ms", self.name())
    }
}

/// What one change says happened in one conversation session.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub account_id: String,
    pub conversation_id: String,
    pub session_no: u32,
    pub at: i64,
    pub agent_id: Option<String>,
    /// The conversation's group, when the change shows it (messages and ratings do not).
    pub group: Option<Option<String>>,
    pub what: Observed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Started,
    HandedOff,
    /// The session's agent took it; `handoff_at` as the conversation says.
    Accepted {
        handoff_at: Option<i64>,
    },
    OfferTimedOut {
        offer_id: String,
    },
    AgentMessage {
        seq: u64,
    },
    Solved {
        by_agent: bool,
    },
    Ended,
    Rated {
        score: u8,
    },
}

/// The observations of one stored change (none for most messages).
pub fn observations_of(change: &StoredChange) -> Vec<Observation> {
    match (&change.before, &change.after) {
        (before, Some(Stored::Conversation(after))) => {
            let before = match before {
                Some(Stored::Conversation(c)) => Some(c.as_ref()),
                _ => None,
            };
            of_conversation(before, after)
        }
        (None, Some(Stored::Message(m))) if m.author_role == AuthorRole::Agent => {
            vec![Observation {
                account_id: m.account_id.clone(),
                conversation_id: m.conversation_id.clone(),
                session_no: m.session_no,
                at: m.created_at,
                agent_id: Some(m.author_id.clone()),
                group: None,
                what: Observed::AgentMessage { seq: m.seq },
            }]
        }
        (before, Some(Stored::Rating(r))) => {
            let was_rated = matches!(before, Some(Stored::Rating(b)) if b.score.is_some());
            match (r.score, r.rated_at) {
                (Some(score), Some(at)) if !was_rated => vec![Observation {
                    account_id: r.account_id.clone(),
                    conversation_id: r.conversation_id.clone(),
                    session_no: r.session_no,
                    at,
                    agent_id: r.agent_id.clone(),
                    group: None,
                    what: Observed::Rated { score },
                }],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn of_conversation(before: Option<&Conversation>, after: &Conversation) -> Vec<Observation> {
    let observe = |at: i64, agent_id: Option<&String>, what: Observed| Observation {
        account_id: after.account_id.clone(),
        conversation_id: after.id.clone(),
        session_no: after.session_no,
        at,
        agent_id: agent_id.cloned(),
        group: Some(after.group.clone()),
        what,
    };
    let mut seen = Vec::new();
    let new_session = before.is_none_or(|b| b.session_no < after.session_no);
    if new_session {
        let at = before.map_or(after.created_at, |_| after.updated_at);
        seen.push(observe(at, None, Observed::Started));
    }
    if let Some(handoff_at) = after.handoff_at {
        if before.is_none_or(|b| b.handoff_at != Some(handoff_at)) {
            seen.push(observe(handoff_at, None, Observed::HandedOff));
        }
    }
    let assignee_before = before.and_then(|b| b.assignee.as_ref());
    if let Some(agent) = after
        .assignee
        .as_ref()
        .filter(|a| Some(*a) != assignee_before)
    {
        let accepted = Observed::Accepted {
            handoff_at: after.handoff_at,
        };
        seen.push(observe(after.updated_at, Some(agent), accepted));
    }
    if let Some(offer) = before.and_then(|b| b.offer.as_ref()) {
        let withdrawn = after.offer.is_none() && after.assignee.as_ref() != Some(&offer.agent_id);
        if withdrawn && after.updated_at >= offer.expires_at {
            let offer_id = offer.offer_id.clone();
            let timed_out = Observed::OfferTimedOut { offer_id };
            seen.push(observe(after.updated_at, Some(&offer.agent_id), timed_out));
        }
    }
    let resolved = |s: TicketStatus| matches!(s, TicketStatus::Solved | TicketStatus::Closed);
    if resolved(after.ticket_status) && before.is_none_or(|b| !resolved(b.ticket_status)) {
        let staff = after.latest_author().filter(|a| a.role.is_staff());
        let by_agent = staff.is_some();
        let agent = assignee_before
            .or(after.assignee.as_ref())
            .or(staff.map(|a| &a.id));
        seen.push(observe(
            after.updated_at,
            agent,
            Observed::Solved { by_agent },
        ));
    }
    let was_active = before.is_some_and(|b| b.session == SessionState::Active);
    if was_active && after.session == SessionState::Ended {
        let agent = assignee_before.or(after.assignee.as_ref());
        seen.push(observe(after.updated_at, agent, Observed::Ended));
    }
    seen
}

/// What one conversation session has counted, and what its later observations need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionMeasure {
    pub account_id: String,
    pub conversation_id: String,
    pub session_no: u32,
    /// 0 until stored; each store names the version it read.
    pub version: u64,
    /// The observations counted (`started`, `handoff`, `accepted`, `first_reply`, `solved`,
    /// `ended`, `csat`, `timeout:{offer}`).
    pub counted: BTreeSet<String>,
    pub handoff_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub first_reply_at: Option<i64>,
    /// The seqs of the session's first two agent messages (enough to tell one touch).
    pub agent_message_seqs: Vec<u64>,
    /// The conversation's group as last observed.
    pub group: Option<String>,
    /// When the session's start was counted, and the group it is counted under (the group at
    /// its handoff, once handed off).
    pub started_at: Option<i64>,
    pub started_group: Option<String>,
}

impl SessionMeasure {
    pub fn new(account_id: &str, conversation_id: &str, session_no: u32) -> Self {
        Self {
            account_id: account_id.into(),
            conversation_id: conversation_id.into(),
            session_no,
            ..Self::default()
        }
    }
}

/// What to add to one row: the day (in the account's time zone), agent and group it counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub account_id: String,
    pub day: String,
    pub agent_id: Option<String>,
    pub group: Option<String>,
    pub counters: BTreeMap<String, i64>,
}

/// One stored row: everything counted for (day, agent, group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub day: String,
    pub agent_id: Option<String>,
    pub group: Option<String>,
    pub counters: BTreeMap<String, i64>,
}

/// The day (`YYYY-MM-DD`) an instant falls on in `tz`.
pub fn day_of(at_ms: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(at_ms) {
        Ok(instant) => instant.to_zoned(tz.clone()).date().to_string(),
        Err(_) => "1970-01-01".into(),
    }
}

/// Counts `seen` against its session's `measure`: the measure to store (its version bumped)
/// and what to add to rows (none when only the measure changes, one row at most per key);
/// `None` when nothing is new.
pub fn count(
    measure: &SessionMeasure,
    seen: &Observation,
    tz: &jiff::tz::TimeZone,
) -> Option<(SessionMeasure, Vec<Tally>)> {
    let mut next = measure.clone();
    let mut moved_start = None;
    if let Some(group) = &seen.group {
        next.group = group.clone();
    }
    let mut adds = Adds::default();
    let key = match &seen.what {
        Observed::AgentMessage { seq } => {
            if next.agent_message_seqs.len() < 2 && !next.agent_message_seqs.contains(seq) {
                next.agent_message_seqs.push(*seq);
            }
            match next.handoff_at {
                Some(h) if next.first_reply_at.is_none() && seen.at >= h => {
                    next.first_reply_at = Some(seen.at);
                    adds.time(Measure::FirstReply, seen.at - h);
                    Some(key_of(&seen.what))
                }
                _ => None,
            }
        }
        what => Some(key_of(what)),
    };
    if let Some(key) = key {
        if !next.counted.insert(key) {
            return None;
        }
        match &seen.what {
            Observed::Started => {
                next.started_at = Some(seen.at);
                next.started_group = next.group.clone();
                adds.add(CONVERSATIONS_STARTED, 1);
            }
            Observed::HandedOff => {
                next.handoff_at = Some(seen.at);
                adds.add(HANDOFFS, 1);
                // A group given after the start (the API sets it then): the start moves to it.
                if let Some(started_at) = next.started_at {
                    if next.started_group != next.group {
                        let from = std::mem::replace(&mut next.started_group, next.group.clone());
                        moved_start = Some((day_of(started_at, tz), from));
                    }
                }
            }
            Observed::Accepted { handoff_at } => {
                next.accepted_at = Some(seen.at);
                if let Some(h) = handoff_at.or(next.handoff_at) {
                    adds.time(Measure::WaitToAccept, seen.at - h);
                }
            }
            Observed::OfferTimedOut { .. } => adds.add(OFFERS_TIMED_OUT, 1),
            Observed::Solved { by_agent: true } => {
                adds.add(SOLVED_BY_AGENTS, 1);
                if next.agent_message_seqs.len() == 1 {
                    adds.add(ONE_TOUCH_RESOLUTIONS, 1);
                }
            }
            Observed::Solved { by_agent: false } if next.handoff_at.is_none() => {
                adds.add(BOT_RESOLUTIONS, 1);
            }
            Observed::Ended => {
                if let Some(accepted) = next.accepted_at {
                    adds.time(Measure::HandleTime, seen.at - accepted);
                }
            }
            Observed::Rated { score } => {
                adds.add(CSAT_RESPONSES, 1);
                adds.add(CSAT_SCORE_SUM, i64::from(*score));
                adds.add(format!("csat_{score}"), 1);
            }
            Observed::Solved { .. } | Observed::AgentMessage { .. } => {}
        }
    }
    if next == *measure {
        return None;
    }
    next.version = measure.version + 1;
    let tally = |day: String, agent_id: Option<String>, group: Option<String>| Tally {
        account_id: seen.account_id.clone(),
        day,
        agent_id,
        group,
        counters: BTreeMap::new(),
    };
    let mut tallies = Vec::new();
    if !adds.0.is_empty() {
        let mut row = tally(
            day_of(seen.at, tz),
            seen.agent_id.clone(),
            next.group.clone(),
        );
        row.counters = adds.0;
        tallies.push(row);
    }
    if let Some((day, from)) = moved_start {
        let mut off = tally(day.clone(), None, from);
        off.counters.insert(CONVERSATIONS_STARTED.into(), -1);
        let mut on = tally(day, None, next.group.clone());
        on.counters.insert(CONVERSATIONS_STARTED.into(), 1);
        tallies.extend([off, on]);
    }
    Some((next, merged(tallies)))
}

/// Tallies of one row added together, so a count writes each row once.
fn merged(tallies: Vec<Tally>) -> Vec<Tally> {
    let mut rows: Vec<Tally> = Vec::new();
    for tally in tallies {
        let same = |r: &&mut Tally| {
            (&r.day, &r.agent_id, &r.group) == (&tally.day, &tally.agent_id, &tally.group)
        };
        match rows.iter_mut().find(same) {
            Some(row) => {
                for (name, n) in tally.counters {
                    *row.counters.entry(name).or_insert(0) += n;
                }
            }
            None => rows.push(tally),
        }
    }
    rows
}

fn key_of(what: &Observed) -> String {
    match what {
        Observed::Started => "started".into(),
        Observed::HandedOff => "handoff".into(),
        Observed::Accepted { .. } => "accepted".into(),
        Observed::OfferTimedOut { offer_id } => format!("timeout:{offer_id}"),
        Observed::AgentMessage { .. } => "first_reply".into(),
        Observed::Solved { .. } => "solved".into(),
        Observed::Ended => "ended".into(),
        Observed::Rated { .. } => "csat".into(),
    }
}

/// The counters one observation adds.
#[derive(Default)]
struct Adds(BTreeMap<String, i64>);

impl Adds {
    fn add(&mut self, name: impl Into<String>, value: i64) {
        *self.0.entry(name.into()).or_insert(0) += value;
    }

    /// One duration of `measure`: its bucket and its total.
    fn time(&mut self, measure: Measure, ms: i64) {
        let ms = ms.max(0);
        self.add(measure.bucket(histogram::bucket_of(ms)), 1);
        self.add(measure.sum(), ms);
    }
}
