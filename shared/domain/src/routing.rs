//! Omnichannel routing (R23–R26): agents with one unified status, per-channel capacity and load,
//! offers that reserve capacity, and the durable priority-ordered waiting list. Pure rules; the
//! atomic writes that keep R24 under concurrency are the `RoutingStore` port's.

use serde::{Deserialize, Serialize};

// A conversation's offer and held capacity are part of the conversation (`model`).
pub use crate::model::{CapacityChannel, Offer};
use crate::model::{Control, Conversation, Priority, SessionState};
use crate::settings::RoutingMethod;

/// R25: one status for every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Online,
    Away,
    Offline,
}

/// Most conversations one agent may hold on a channel.
pub const MAX_CAPACITY: u32 = 100;
/// Most groups an agent belongs to.
pub const MAX_AGENT_GROUPS: usize = 50;

/// An agent as routing sees it. `load_*` counts offered and assigned conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub account_id: String,
    pub id: String,
    pub status: AgentStatus,
    pub cap_messaging: u32,
    pub cap_email: u32,
    pub load_messaging: u32,
    pub load_email: u32,
    pub groups: Vec<String>,
    /// When this agent was last offered a conversation (round robin turns on it).
    pub last_offered_at: i64,
    pub updated_at: i64,
}

impl Agent {
    /// A new agent: offline, no capacity until an admin gives some.
    pub fn new(account_id: &str, id: &str, now: i64) -> Self {
        Self {
            account_id: account_id.into(),
            id: id.into(),
            status: AgentStatus::Offline,
            cap_messaging: 0,
            cap_email: 0,
            load_messaging: 0,
            load_email: 0,
            groups: Vec::new(),
            last_offered_at: 0,
            updated_at: now,
        }
    }

    pub fn capacity(&self, channel: CapacityChannel) -> u32 {
        match channel {
            CapacityChannel::Messaging => self.cap_messaging,
            CapacityChannel::Email => self.cap_email,
        }
    }

    pub fn load(&self, channel: CapacityChannel) -> u32 {
        match channel {
            CapacityChannel::Messaging => self.load_messaging,
            CapacityChannel::Email => self.load_email,
        }
    }

    pub fn load_mut(&mut self, channel: CapacityChannel) -> &mut u32 {
        match channel {
            CapacityChannel::Messaging => &mut self.load_messaging,
            CapacityChannel::Email => &mut self.load_email,
        }
    }

    pub fn spare(&self, channel: CapacityChannel) -> u32 {
        self.capacity(channel).saturating_sub(self.load(channel))
    }

    /// R23: online, with spare capacity, and in the conversation's group when it has one; a
    /// conversation transferred to one agent is for that agent only, whatever its group.
    pub fn is_eligible_for(&self, conversation: &Conversation) -> bool {
        let wanted = match &conversation.transfer_to {
            Some(agent) => *agent == self.id,
            None => conversation
                .group
                .as_ref()
                .is_none_or(|group| self.groups.contains(group)),
        };
        self.status == AgentStatus::Online
            && wanted
            && self.spare(CapacityChannel::of(conversation.channel)) > 0
    }
}

/// What an admin or the agent changes about an agent (never its load).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentProfileChange {
    pub status: Option<AgentStatus>,
    /// (messaging, email)
    pub capacity: Option<(u32, u32)>,
    pub groups: Option<Vec<String>>,
}

/// A conversation in an account's waiting list. Ordered by priority (higher first), then by
/// the time it started waiting (older first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingEntry {
    pub account_id: String,
    pub conversation_id: String,
    pub priority: Priority,
    pub since: i64,
    /// The conversation's group: the inbox's `waiting` view of an agent lists its groups'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl WaitingEntry {
    pub fn for_conversation(conversation: &Conversation) -> Self {
        Self {
            account_id: conversation.account_id.clone(),
            conversation_id: conversation.id.clone(),
            priority: conversation.priority,
            group: conversation.group.clone(),
            since: conversation
                .routing_since
                .or(conversation.handoff_at)
                .unwrap_or(conversation.created_at),
        }
    }

    /// A sort key whose byte order is the routing order.
    pub fn sort_key(&self) -> String {
        format!(
            "{:03}#{:015}#{}",
            255 - u16::from(self.priority.rank()),
            self.since.max(0),
            self.conversation_id
        )
    }
}

/// R23: the conversation waits for an agent (control with agents, nobody assigned or offered,
/// session active).
pub fn needs_routing(conversation: &Conversation) -> bool {
    conversation.control == Control::Agent
        && conversation.assignee.is_none()
        && conversation.offer.is_none()
        && conversation.session == SessionState::Active
}

/// R9/R23: the agent to offer `conversation` to, if anyone is eligible.
/// - `highest_spare_capacity`: most spare capacity on the conversation's channel, then the one
///   offered least recently;
/// - `round_robin`: the one offered least recently.
///
/// Ties end on the agent id so every router makes the same choice from the same data.
pub fn choose_agent<'a>(
    agents: &'a [Agent],
    conversation: &Conversation,
    method: RoutingMethod,
) -> Option<&'a Agent> {
    let channel = CapacityChannel::of(conversation.channel);
    let eligible = agents.iter().filter(|a| a.is_eligible_for(conversation));
    match method {
        RoutingMethod::HighestSpareCapacity => eligible.min_by(|a, b| {
            b.spare(channel)
                .cmp(&a.spare(channel))
                .then(a.last_offered_at.cmp(&b.last_offered_at))
                .then(a.id.cmp(&b.id))
        }),
        RoutingMethod::RoundRobin => eligible.min_by(|a, b| {
            a.last_offered_at
                .cmp(&b.last_offered_at)
                .then(a.id.cmp(&b.id))
        }),
    }
}

/// The conversation once offered to `offer.agent_id`.
pub fn with_offer(conversation: &Conversation, offer: &Offer, now: i64) -> Conversation {
    let mut next = conversation.clone();
    next.routing_since = Some(WaitingEntry::for_conversation(conversation).since);
    next.offer = Some(offer.clone());
    next.held_capacity = Some(offer.channel);
    next.updated_at = now;
    next.revision += 1;
    next
}

/// The conversation once its offer is accepted: assigned, capacity still held.
pub fn with_assignment(conversation: &Conversation, now: i64) -> Option<Conversation> {
    let offer = conversation.offer.as_ref()?;
    let mut next = conversation.clone();
    next.assignee = Some(offer.agent_id.clone());
    next.offer = None;
    // A transfer ends once someone holds it.
    next.transfer_to = None;
    next.updated_at = now;
    next.revision += 1;
    Some(next)
}

/// The conversation once its offer is withdrawn: waiting again, keeping its place (age).
pub fn without_offer(conversation: &Conversation, now: i64) -> Conversation {
    let mut next = conversation.clone();
    next.offer = None;
    next.held_capacity = None;
    next.updated_at = now;
    next.revision += 1;
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::new_conversation;
    use crate::settings::Settings;

    fn agent(id: &str, cap: u32, load: u32, last: i64) -> Agent {
        Agent {
            status: AgentStatus::Online,
            cap_messaging: cap,
            load_messaging: load,
            last_offered_at: last,
            ..Agent::new("acme", id, 0)
        }
    }

    fn waiting_conversation() -> Conversation {
        let mut c = new_conversation("acme", "eu", &Settings::default(), 1);
        c.control = Control::Agent;
        c
    }

    #[test]
    fn highest_spare_capacity_prefers_the_emptiest_agent() {
        let agents = [
            agent("a", 3, 2, 0),
            agent("b", 5, 1, 9),
            agent("c", 4, 1, 0),
        ];
        let chosen = choose_agent(
            &agents,
            &waiting_conversation(),
            RoutingMethod::HighestSpareCapacity,
        );
        assert_eq!(chosen.map(|a| a.id.as_str()), Some("b"));
    }

    #[test]
    fn round_robin_takes_the_agent_offered_least_recently() {
        let agents = [
            agent("a", 3, 0, 5),
            agent("b", 9, 0, 7),
            agent("c", 1, 0, 2),
        ];
        let chosen = choose_agent(&agents, &waiting_conversation(), RoutingMethod::RoundRobin);
        assert_eq!(chosen.map(|a| a.id.as_str()), Some("c"));
    }

    #[test]
    fn full_away_offline_and_other_group_agents_are_never_chosen() {
        let mut away = agent("away", 5, 0, 0);
        away.status = AgentStatus::Away;
        let mut offline = agent("offline", 5, 0, 0);
        offline.status = AgentStatus::Offline;
        let full = agent("full", 2, 2, 0);
        let mut other_group = agent("other", 5, 0, 0);
        other_group.groups = vec!["billing".into()];
        let agents = [away, offline, full, other_group];
        let mut conversation = waiting_conversation();
        conversation.group = Some("sales".into());
        for method in [
            RoutingMethod::HighestSpareCapacity,
            RoutingMethod::RoundRobin,
        ] {
            assert!(choose_agent(&agents, &conversation, method).is_none());
        }
        conversation.group = Some("billing".into());
        let chosen = choose_agent(&agents, &conversation, RoutingMethod::RoundRobin);
        assert_eq!(chosen.map(|a| a.id.as_str()), Some("other"));
    }

    #[test]
    fn a_transferred_conversation_goes_to_its_agent_only_whatever_its_group() {
        let mut target = agent("target", 2, 0, 9);
        target.groups = vec!["tier2".into()];
        let agents = [agent("other", 5, 0, 0), target];
        let mut conversation = waiting_conversation();
        conversation.group = Some("tier1".into());
        conversation.transfer_to = Some("target".into());
        for method in [
            RoutingMethod::HighestSpareCapacity,
            RoutingMethod::RoundRobin,
        ] {
            let chosen = choose_agent(&agents, &conversation, method);
            assert_eq!(chosen.map(|a| a.id.as_str()), Some("target"));
        }
    }

    #[test]
    fn waiting_order_is_priority_then_age() {
        let entry = |priority, since, id: &str| WaitingEntry {
            account_id: "acme".into(),
            conversation_id: id.into(),
            priority,
            since,
            group: None,
        };
        let mut keys = [
            entry(Priority::Low, 10, "old-low").sort_key(),
            entry(Priority::Urgent, 30, "new-high").sort_key(),
            entry(Priority::Urgent, 20, "old-high").sort_key(),
            entry(Priority::Low, 40, "new-low").sort_key(),
        ];
        keys.sort();
        let order: Vec<_> = keys.iter().map(|k| k.rsplit('#').next().unwrap()).collect();
        assert_eq!(order, ["old-high", "new-high", "old-low", "new-low"]);
    }
}
