//! `agent-presence`: agents' unified status (R25), admins' capacities and groups, offers and
//! accept (R23, R24).
//!
//! Routes (spec "HTTP contract"):
//! - `GET /v1/agents/me`, `PUT /v1/agents/me/status`, `GET /v1/agents/me/offers`
//! - `PUT /v1/agents/{agent_id}/capacity`, `PUT /v1/agents/{agent_id}/groups` (admins)
//! - `POST /v1/conversations/{cid}/accept`

use http::StatusCode;
use serde::Deserialize;

use domain::error::DomainError;
use domain::ids::ConversationId;
use domain::model::{Role, TicketStatus};
use domain::now_ms;
use domain::routing::{
    with_assignment, Agent, AgentProfileChange, AgentStatus, Offer, MAX_AGENT_GROUPS, MAX_CAPACITY,
};
use domain::views::{accepted_offer_view, agent_view, offers_view};
use domain::workspace::groups_are_valid;
use edge::api::{
    conversation_id, json, parse_json, require_role, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, AGENT_PRESENCE};
use use_cases::auth::{is_safe_identifier, Principal};
use use_cases::backend::Backend;
use use_cases::conversations;
use use_cases::optimistic::{retry_on_conflict, Decision};
use use_cases::router::{request_drain, withdraw};
use use_cases::StoreError;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(AGENT_PRESENCE, backend, &request, dispatch).await
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    match route.operation() {
        Operation::SetCapacity | Operation::SetGroups => require_role(&principal, &[Role::Admin])?,
        _ => require_role(&principal, &[Role::Agent, Role::Admin])?,
    }
    let agent = route.param("agent_id");
    match route.operation() {
        Operation::GetMe => me(backend, &principal).await,
        Operation::SetStatus => set_status(backend, &principal, request).await,
        Operation::ListOffers => offers(backend, &principal).await,
        Operation::SetCapacity => set_capacity(backend, &principal, agent, request).await,
        Operation::SetGroups => set_groups(backend, &principal, agent, request).await,
        Operation::AcceptOffer => {
            accept(backend, &principal, &conversation_id(&route)?, request).await
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}

/// The agent named in an admin's path: a token subject (the agent's id).
fn agent_id(raw: &str) -> Result<&str, ApiError> {
    if raw == "me" || !is_safe_identifier(raw) {
        return Err(ApiError::not_found());
    }
    Ok(raw)
}

/// An agent exists from its first call (spec): reading creates it, offline and without capacity.
async fn ensure_agent(backend: &Backend, principal: &Principal) -> Result<Agent, ApiError> {
    match backend
        .store
        .get_agent(&principal.account_id, &principal.user_id)
        .await?
    {
        Some(agent) => Ok(agent),
        None => Ok(backend
            .store
            .update_agent_profile(
                &principal.account_id,
                &principal.user_id,
                &AgentProfileChange::default(),
                now_ms(),
            )
            .await?),
    }
}

async fn me(backend: &Backend, principal: &Principal) -> Result<ApiResponse, ApiError> {
    let agent = ensure_agent(backend, principal).await?;
    Ok(json(StatusCode::OK, &agent_view(&agent)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: AgentStatus,
}

async fn set_status(
    backend: &Backend,
    principal: &Principal,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let StatusRequest { status } = parse_json(request)?;
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
        // R25: offers held by an agent who leaves are routed again.
        withdraw_offers(backend, &agent, |_| true, "agent_unavailable").await?;
    }
    // Online: capacity appeared; otherwise: withdrawn conversations wait for someone else.
    request_drain(backend, &principal.account_id, "agent_status").await?;
    tracing::info!(account_id = %principal.account_id, agent_id = %principal.user_id, status = ?status, "agent status set");
    Ok(json(StatusCode::OK, &agent_view(&agent)))
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

async fn offers(backend: &Backend, principal: &Principal) -> Result<ApiResponse, ApiError> {
    let agent = ensure_agent(backend, principal).await?;
    let now = now_ms();
    // Expired offers are withdrawn here too, so none outlives a lost timeout message.
    let standing =
        withdraw_offers(backend, &agent, |o| o.expires_at <= now, "offer_timeout").await?;
    Ok(json(StatusCode::OK, &offers_view(&standing)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityRequest {
    messaging: u32,
    email: u32,
}

async fn set_capacity(
    backend: &Backend,
    principal: &Principal,
    agent: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let CapacityRequest { messaging, email } = parse_json(request)?;
    let agent = agent_id(agent)?;
    if messaging > MAX_CAPACITY || email > MAX_CAPACITY {
        return Err(DomainError::InvalidCapacity { max: MAX_CAPACITY }.into());
    }
    let updated = backend
        .store
        .update_agent_profile(
            &principal.account_id,
            agent,
            &AgentProfileChange {
                capacity: Some((messaging, email)),
                ..Default::default()
            },
            now_ms(),
        )
        .await?;
    // A raise may let waiting conversations through (a cut never takes any away: R24 only
    // stops new offers above capacity).
    request_drain(backend, &principal.account_id, "capacity_changed").await?;
    Ok(json(StatusCode::OK, &agent_view(&updated)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsRequest {
    groups: Vec<String>,
}

async fn set_groups(
    backend: &Backend,
    principal: &Principal,
    agent: &str,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let GroupsRequest { mut groups } = parse_json(request)?;
    let agent = agent_id(agent)?;
    if !groups_are_valid(&groups, MAX_AGENT_GROUPS) {
        return Err(DomainError::InvalidGroups {
            max: MAX_AGENT_GROUPS,
        }
        .into());
    }
    groups.sort();
    groups.dedup();
    let updated = backend
        .store
        .update_agent_profile(
            &principal.account_id,
            agent,
            &AgentProfileChange {
                groups: Some(groups),
                ..Default::default()
            },
            now_ms(),
        )
        .await?;
    request_drain(backend, &principal.account_id, "groups_changed").await?;
    Ok(json(StatusCode::OK, &agent_view(&updated)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptRequest {}

/// An accept that keeps meeting a changed offer gives up after this many writes (503).
const MAX_ACCEPT_ATTEMPTS: u32 = 5;

async fn accept(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let AcceptRequest {} = parse_json(request)?;
    let conversation = conversations::visible(backend.store.as_ref(), principal, cid).await?;
    let now = now_ms();
    let assigned = retry_on_conflict(
        conversation,
        MAX_ACCEPT_ATTEMPTS,
        |conversation| {
            if conversation.assignee.as_deref() == Some(principal.user_id.as_str()) {
                return Ok(Decision::Done(conversation.clone())); // a retried accept
            }
            let offer = conversation.offer.clone().ok_or_else(offer_not_standing)?;
            if offer.agent_id != principal.user_id {
                return Err(DomainError::NotOffered.into());
            }
            if offer.expires_at <= now {
                return Err(offer_not_standing());
            }
            let mut next = with_assignment(conversation, now).ok_or_else(offer_not_standing)?;
            if next.ticket_status.can_become(TicketStatus::Open) {
                next.ticket_status = TicketStatus::Open;
            }
            next.stamp(principal.actor());
            Ok(Decision::Write((next, offer)))
        },
        |(next, offer)| async move {
            backend
                .store
                .accept_offer(&next, &offer)
                .await
                .map(|()| next)
        },
        // Withdrawn or changed meanwhile: look again.
        || async { Ok(conversations::visible(backend.store.as_ref(), principal, cid).await?) },
    )
    .await?;
    tracing::info!(account_id = %principal.account_id, conversation_id = %assigned.id, agent_id = %principal.user_id, "offer accepted");
    Ok(json(StatusCode::OK, &accepted_offer_view(&assigned)))
}

fn offer_not_standing() -> ApiError {
    DomainError::OfferNotStanding.into()
}
