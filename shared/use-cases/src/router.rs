//! The routing procedure (R23–R26) over the ports: used by `route-conversation` (the SQS
//! consumer), `agent-presence` (accept, status changes) and whatever frees capacity.
//!
//! Nothing polls: a conversation needing an agent enters the durable waiting list and a
//! routing message asks for the list to be drained; agents coming online, capacity raised or
//! freed publish a drain request; an offer's timeout is a delayed queue message.

use crate::backend::Backend;
use crate::error::StoreError;
use domain::ids::new_id;
use domain::model::{Conversation, RoutingRequest};
use domain::routing::{
    choose_agent, needs_routing, with_offer, without_offer, Agent, CapacityChannel, Offer,
    WaitingEntry,
};

/// Waiting conversations read per page while draining.
const WAITING_PAGE: usize = 50;
/// Pages of the waiting list one drain reads at most (entries nobody can take, e.g. of a
/// group with nobody online, are passed over, not waited behind).
const MAX_WAITING_PAGES_PER_DRAIN: usize = 40;
/// Offers one drain makes before handing the rest to a fresh queue message.
const MAX_OFFERS_PER_DRAIN: usize = 200;
/// Attempts to place one conversation when concurrent routers keep winning the race.
const MAX_PLACEMENT_ATTEMPTS: usize = 4;

/// Publishes a routing message (`delay_seconds` up to 900).
pub async fn publish(
    backend: &Backend,
    request: &RoutingRequest,
    delay_seconds: u32,
) -> Result<(), StoreError> {
    backend
        .routing_queue
        .send(&encode(request)?, delay_seconds)
        .await
}

/// Asks routing to place `conversation`, which waits for an agent. Routing consumers are
/// idempotent, so asking again after a retried request is harmless.
pub async fn request_routing(
    backend: &Backend,
    conversation: &Conversation,
    reason: &str,
) -> Result<(), StoreError> {
    let request = RoutingRequest {
        account_id: conversation.account_id.clone(),
        conversation_id: Some(conversation.id.clone()),
        priority: conversation.priority,
        reason: reason.into(),
        requested_at: domain::now_ms(),
        offer_id: None,
    };
    publish(backend, &request, 0).await?;
    tracing::info!(
        account_id = %conversation.account_id,
        conversation_id = %conversation.id,
        reason,
        "routing requested"
    );
    Ok(())
}

/// Asks for the account's waiting conversations to be routed (capacity may have freed).
pub async fn request_drain(
    backend: &Backend,
    account_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    publish(
        backend,
        &RoutingRequest {
            account_id: account_id.into(),
            conversation_id: None,
            priority: Default::default(),
            reason: reason.into(),
            requested_at: domain::now_ms(),
            offer_id: None,
        },
        0,
    )
    .await
}

/// What processing one routing message did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteReport {
    /// Offers made by this run.
    pub offered: usize,
    /// Offers withdrawn by this run (timeout).
    pub withdrawn: usize,
}

/// Processes one routing message. Idempotent: a repeated message finds nothing more to do.
pub async fn process(
    backend: &Backend,
    request: &RoutingRequest,
) -> Result<RouteReport, StoreError> {
    let mut report = RouteReport::default();
    if let Some(conversation_id) = &request.conversation_id {
        let conversation = backend
            .store
            .get_conversation(&request.account_id, conversation_id)
            .await?;
        match (conversation, &request.offer_id) {
            (Some(conversation), Some(offer_id)) => {
                report.withdrawn +=
                    usize::from(expire_offer(backend, conversation, offer_id).await?);
            }
            (Some(conversation), None) if needs_routing(&conversation) => {
                backend
                    .store
                    .put_waiting(&WaitingEntry::for_conversation(&conversation))
                    .await?;
            }
            _ => {}
        }
    }
    report.offered = drain(backend, &request.account_id).await?;
    Ok(report)
}

/// The offer's time is up: withdraw it if it still stands (a timeout message arriving early is
/// sent again for the remaining time). Returns whether it was withdrawn.
async fn expire_offer(
    backend: &Backend,
    conversation: Conversation,
    offer_id: &str,
) -> Result<bool, StoreError> {
    let Some(offer) = conversation
        .offer
        .clone()
        .filter(|o| o.offer_id == offer_id)
    else {
        return Ok(false);
    };
    let now = domain::now_ms();
    if now < offer.expires_at {
        let remaining = ((offer.expires_at - now) / 1000 + 1).clamp(1, 900) as u32;
        publish(backend, &timeout_request(&offer), remaining).await?;
        return Ok(false);
    }
    withdraw(backend, conversation, "offer_timeout").await
}

/// Withdraws the conversation's standing offer (timeout, agent gone offline/away): its
/// capacity is released and it waits again in its old place. Returns whether it was withdrawn
/// (false when no offer stood or another step changed the conversation first).
pub async fn withdraw(
    backend: &Backend,
    conversation: Conversation,
    reason: &str,
) -> Result<bool, StoreError> {
    let Some(offer) = conversation.offer.clone() else {
        return Ok(false);
    };
    let next = without_offer(&conversation, domain::now_ms());
    let waiting = WaitingEntry::for_conversation(&next);
    match backend.store.withdraw_offer(&next, &offer, &waiting).await {
        Ok(()) => {
            tracing::info!(
                account_id = %offer.account_id,
                conversation_id = %offer.conversation_id,
                agent_id = %offer.agent_id,
                reason,
                "offer withdrawn"
            );
            Ok(true)
        }
        // Accepted or withdrawn by someone else in the meantime.
        Err(StoreError::Conflict) => Ok(false),
        Err(other) => Err(other),
    }
}

fn timeout_request(offer: &Offer) -> RoutingRequest {
    RoutingRequest {
        account_id: offer.account_id.clone(),
        conversation_id: Some(offer.conversation_id.clone()),
        priority: Default::default(),
        reason: "offer_timeout".into(),
        requested_at: domain::now_ms(),
        offer_id: Some(offer.offer_id.clone()),
    }
}

fn has_spare(agents: &[Agent]) -> bool {
    agents.iter().any(|a| {
        a.status == domain::routing::AgentStatus::Online
            && (a.spare(CapacityChannel::Messaging) > 0 || a.spare(CapacityChannel::Email) > 0)
    })
}

/// Offers waiting conversations, highest priority then oldest first, to eligible agents until
/// nobody eligible is left or the waiting list is empty. Returns the number of offers made.
///
/// The offers' timeout messages are sent together at the end (ten per SQS request), also when
/// the drain stops on an error. Should that send fail, the routing message is retried, and an
/// offer whose timeout message is missing is still withdrawn once expired, when its agent's
/// offers are listed.
pub async fn drain(backend: &Backend, account_id: &str) -> Result<usize, StoreError> {
    let mut timeouts = Vec::new();
    let drained = drain_collecting(backend, account_id, &mut timeouts).await;
    if !timeouts.is_empty() {
        backend.routing_queue.send_batch(&timeouts).await?;
    }
    drained
}

/// A routing message body.
fn encode(request: &RoutingRequest) -> Result<String, StoreError> {
    serde_json::to_string(request)
        .map_err(|e| StoreError::Internal(format!("routing request encoding: {e}")))
}

async fn drain_collecting(
    backend: &Backend,
    account_id: &str,
    timeouts: &mut Vec<(String, u32)>,
) -> Result<usize, StoreError> {
    let settings = backend.settings(account_id).await?;
    let method = settings.routing.method;
    let timeout_secs = settings.routing.offer_timeout_seconds;
    let mut agents = backend.store.list_agents(account_id).await?;
    let mut offered = 0;
    // One pass in routing order. Within a pass capacity only goes down (we only make
    // offers), so an entry nobody could take stays so: go past it, never back.
    let mut after: Option<String> = None;
    for _ in 0..MAX_WAITING_PAGES_PER_DRAIN {
        if !has_spare(&agents) {
            return Ok(offered);
        }
        let waiting = backend
            .store
            .list_waiting_page(account_id, None, after.as_deref(), WAITING_PAGE)
            .await?;
        let Some(last) = waiting.last() else {
            return Ok(offered);
        };
        after = Some(last.sort_key());
        for entry in waiting {
            if offered >= MAX_OFFERS_PER_DRAIN {
                // A big backlog: continue in a fresh message rather than run out of time.
                request_drain(backend, account_id, "continue").await?;
                return Ok(offered);
            }
            if let Placement::Offered =
                place(backend, &mut agents, &entry, method, timeout_secs, timeouts).await?
            {
                offered += 1;
            }
            if !has_spare(&agents) {
                return Ok(offered);
            }
        }
    }
    tracing::warn!(
        account_id,
        pages = MAX_WAITING_PAGES_PER_DRAIN,
        "drain stopped before the end of the waiting list"
    );
    Ok(offered)
}

enum Placement {
    Offered,
    /// The entry no longer needed routing and was removed.
    Stale,
    NobodyEligible,
}

async fn place(
    backend: &Backend,
    agents: &mut [Agent],
    entry: &WaitingEntry,
    method: domain::settings::RoutingMethod,
    timeout_secs: u32,
    timeouts: &mut Vec<(String, u32)>,
) -> Result<Placement, StoreError> {
    for _ in 0..MAX_PLACEMENT_ATTEMPTS {
        let conversation = backend
            .store
            .get_conversation(&entry.account_id, &entry.conversation_id)
            .await?;
        let Some(conversation) = conversation.filter(needs_routing) else {
            backend.store.remove_waiting(entry).await?;
            return Ok(Placement::Stale);
        };
        let Some(agent) = choose_agent(agents, &conversation, method) else {
            return Ok(Placement::NobodyEligible);
        };
        let now = domain::now_ms();
        let offer = Offer {
            account_id: conversation.account_id.clone(),
            conversation_id: conversation.id.clone(),
            agent_id: agent.id.clone(),
            offer_id: new_id("o"),
            channel: CapacityChannel::of(conversation.channel),
            offered_at: now,
            expires_at: now + i64::from(timeout_secs) * 1000,
        };
        let agent_id = agent.id.clone();
        let next = with_offer(&conversation, &offer, now);
        match backend.store.make_offer(&next, &offer, entry).await {
            Ok(()) => {
                if let Some(local) = agents.iter_mut().find(|a| a.id == agent_id) {
                    *local.load_mut(offer.channel) += 1;
                    local.last_offered_at = now;
                }
                timeouts.push((encode(&timeout_request(&offer))?, timeout_secs));
                tracing::info!(
                    account_id = %offer.account_id,
                    conversation_id = %offer.conversation_id,
                    agent_id = %offer.agent_id,
                    "conversation offered"
                );
                return Ok(Placement::Offered);
            }
            Err(StoreError::Conflict) => {
                // The agent filled up or went offline, or the conversation changed: re-read.
                let fresh = backend
                    .store
                    .get_agent(&entry.account_id, &agent_id)
                    .await?;
                if let Some(local) = agents.iter_mut().find(|a| a.id == agent_id) {
                    match fresh {
                        Some(fresh) => *local = fresh,
                        None => local.status = domain::routing::AgentStatus::Offline,
                    }
                }
            }
            Err(other) => return Err(other),
        }
    }
    // Still contended: it stays in the waiting list for the next drain.
    Ok(Placement::NobodyEligible)
}
