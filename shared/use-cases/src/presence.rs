//! Agents' presence and offers (R23–R25): the use cases behind `agent-presence`'s routes.
//! An agent exists from its first call, offline and without capacity; leaving withdraws the
//! offers it holds; a change that may free capacity asks routing to drain the waiting list;
//! accepting turns a standing offer into an assignment once, however often it is retried.

use domain::error::DomainError;
use domain::ids::ConversationId;
use domain::model::{Conversation, TicketStatus};
use domain::now_ms;
use domain::routing::{
    with_assignment, Agent, AgentProfileChange, AgentStatus, Offer, MAX_AGENT_GROUPS, MAX_CAPACITY,
};
use domain::workspace::groups_are_valid;
use thiserror::Error;

use crate::auth::{visible_conversation, Principal};
use crate::backend::Backend;
use crate::optimistic::{retry_on_conflict, Decision};
use crate::ports::RoutingStore;
use crate::router::{request_drain, withdraw};
use crate::StoreError;

/// An accept that keeps meeting a changed offer gives up after this many writes (503).
const MAX_ACCEPT_ATTEMPTS: u32 = 5;

/// Why a presence use case refused or failed.
#[derive(Debug, Error)]
pub enum PresenceError {
    /// A rule refused the request (422 or 409 at the edge).
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No conversation of that id that the caller may see.
    #[error("conversation not found")]
    NotFound,
}

/// The calling agent, created offline and without capacity on its first call.
pub async fn me(
    store: &(impl RoutingStore + ?Sized),
    principal: &Principal,
) -> Result<Agent, StoreError> {
    match store
        .get_agent(&principal.account_id, &principal.user_id)
        .await?
    {
        Some(agent) => Ok(agent),
        None => {
            store
                .update_agent_profile(
                    &principal.account_id,
                    &principal.user_id,
                    &AgentProfileChange::default(),
                    now_ms(),
                )
                .await
        }
    }
}

/// R25: the caller's unified status. Leaving withdraws the offers it holds; either way the
/// waiting list is drained (capacity appeared, or withdrawn conversations wait for others).
pub async fn set_status(
    backend: &Backend,
    principal: &Principal,
    status: AgentStatus,
) -> Result<Agent, StoreError> {
    let agent = backend
        .store
        .update_agent_profile(
            &principal.account_id,
            &principal.user_id,
            &AgentProfileChange {
                status: Some(status),
                ..Default::default()
            },
            now_ms(),
        )
        .await?;
    if status != AgentStatus::Online {
        withdraw_offers(backend, &agent, |_| true, "agent_unavailable").await?;
    }
    request_drain(backend, &principal.account_id, "agent_status").await?;
    tracing::info!(account_id = %principal.account_id, agent_id = %principal.user_id, status = ?status, "agent status set");
    Ok(agent)
}

/// The caller's standing offers. Expired ones are withdrawn here too, so none outlives a
/// lost timeout message.
pub async fn offers(backend: &Backend, principal: &Principal) -> Result<Vec<Offer>, StoreError> {
    let agent = me(backend.store.as_ref(), principal).await?;
    let now = now_ms();
    withdraw_offers(backend, &agent, |o| o.expires_at <= now, "offer_timeout").await
}

/// Withdraws the agent's standing offers that `which` selects; returns those that remain.
async fn withdraw_offers(
    backend: &Backend,
    agent: &Agent,
    which: impl Fn(&Offer) -> bool,
    reason: &str,
) -> Result<Vec<Offer>, StoreError> {
    let mut remaining = Vec::new();
    for offer in backend
        .store
        .list_offers(&agent.account_id, &agent.id)
        .await?
    {
        if !which(&offer) {
            remaining.push(offer);
            continue;
        }
        if let Some(conversation) = backend
            .store
            .get_conversation(&offer.account_id, &offer.conversation_id)
            .await?
            .filter(|c| c.offer.as_ref() == Some(&offer))
        {
            withdraw(backend, conversation, reason).await?;
        }
    }
    Ok(remaining)
}

/// An admin sets an agent's capacities (R24). A raise may let waiting conversations through;
/// a cut never takes any away (R24 only stops new offers above capacity).
pub async fn set_capacity(
    backend: &Backend,
    principal: &Principal,
    agent_id: &str,
    (messaging, email): (u32, u32),
) -> Result<Agent, PresenceError> {
    if messaging > MAX_CAPACITY || email > MAX_CAPACITY {
        return Err(DomainError::InvalidCapacity { max: MAX_CAPACITY }.into());
    }
    let change = AgentProfileChange {
        capacity: Some((messaging, email)),
        ..Default::default()
    };
    Ok(change_profile(backend, principal, agent_id, &change, "capacity_changed").await?)
}

/// An admin's change to an agent's profile, then a drain of the waiting list (`reason`).
async fn change_profile(
    backend: &Backend,
    principal: &Principal,
    agent_id: &str,
    change: &AgentProfileChange,
    reason: &str,
) -> Result<Agent, StoreError> {
    let updated = backend
        .store
        .update_agent_profile(&principal.account_id, agent_id, change, now_ms())
        .await?;
    request_drain(backend, &principal.account_id, reason).await?;
    Ok(updated)
}

/// An admin sets an agent's groups (sorted, without repeats).
pub async fn set_groups(
    backend: &Backend,
    principal: &Principal,
    agent_id: &str,
    mut groups: Vec<String>,
) -> Result<Agent, PresenceError> {
    if !groups_are_valid(&groups, MAX_AGENT_GROUPS) {
        return Err(DomainError::InvalidGroups {
            max: MAX_AGENT_GROUPS,
        }
        .into());
    }
    groups.sort();
    groups.dedup();
    let change = AgentProfileChange {
        groups: Some(groups),
        ..Default::default()
    };
    Ok(change_profile(backend, principal, agent_id, &change, "groups_changed").await?)
}

/// R23: the offered agent accepts; the conversation is theirs and its ticket open. A retried
/// accept answers the same assignment; an offer withdrawn, expired or made to someone else is
/// refused.
pub async fn accept(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
) -> Result<Conversation, PresenceError> {
    let store = backend.store.as_ref();
    let visible = || async {
        visible_conversation(store, principal, cid)
            .await?
            .ok_or(PresenceError::NotFound)
    };
    let conversation = visible().await?;
    let now = now_ms();
    let not_standing = || PresenceError::Domain(DomainError::OfferNotStanding);
    let assigned = retry_on_conflict(
        conversation,
        MAX_ACCEPT_ATTEMPTS,
        |conversation| {
            if conversation.assignee.as_deref() == Some(principal.user_id.as_str()) {
                return Ok(Decision::Done(conversation.clone())); // a retried accept
            }
            let offer = conversation.offer.clone().ok_or_else(not_standing)?;
            if offer.agent_id != principal.user_id {
                return Err(DomainError::NotOffered.into());
            }
            if offer.expires_at <= now {
                return Err(not_standing());
            }
            let mut next = with_assignment(conversation, now).ok_or_else(not_standing)?;
            if next.ticket_status.can_become(TicketStatus::Open) {
                next.ticket_status = TicketStatus::Open;
            }
            next.stamp(principal.actor());
            Ok(Decision::Write((next, offer)))
        },
        |(next, offer)| async move { store.accept_offer(&next, &offer).await.map(|()| next) },
        // Withdrawn or changed meanwhile: look again.
        visible,
    )
    .await?;
    tracing::info!(account_id = %principal.account_id, conversation_id = %assigned.id, agent_id = %principal.user_id, "offer accepted");
    Ok(assigned)
}
