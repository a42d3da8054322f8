//! `agent-presence`: agents' unified status (R25), admins' capacities and groups, offers and
//! accept (R23, R24).
//!
//! Routes (spec "HTTP contract"):
//! - `GET /v1/agents/me`, `PUT /v1/agents/me/status`, `GET /v1/agents/me/offers`
//! - `PUT /v1/agents/{agent_id}/capacity`, `PUT /v1/agents/{agent_id}/groups` (admins)
//! - `POST /v1/conversations/{cid}/accept`

use http::StatusCode;
use serde::Deserialize;

use domain::model::Role;
use domain::routing::AgentStatus;
use domain::views::{accepted_offer_view, agent_view, offers_view};
use edge::api::{
    conversation_id, json, parse_json, require_role, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, AGENT_PRESENCE};
use use_cases::auth::{is_safe_identifier, Principal};
use use_cases::backend::Backend;
use use_cases::presence;

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
    let store = backend.store.as_ref();
    match route.operation() {
        Operation::GetMe => Ok(json(
            StatusCode::OK,
            &agent_view(&presence::me(store, &principal).await?),
        )),
        Operation::SetStatus => {
            let StatusRequest { status } = parse_json(request)?;
            let agent = presence::set_status(backend, &principal, status).await?;
            Ok(json(StatusCode::OK, &agent_view(&agent)))
        }
        Operation::ListOffers => {
            let standing = presence::offers(backend, &principal).await?;
            Ok(json(StatusCode::OK, &offers_view(&standing)))
        }
        Operation::SetCapacity => {
            let CapacityRequest { messaging, email } = parse_json(request)?;
            let agent = agent_id(route.param("agent_id"))?;
            let updated =
                presence::set_capacity(backend, &principal, agent, (messaging, email)).await?;
            Ok(json(StatusCode::OK, &agent_view(&updated)))
        }
        Operation::SetGroups => {
            let GroupsRequest { groups } = parse_json(request)?;
            let agent = agent_id(route.param("agent_id"))?;
            let updated = presence::set_groups(backend, &principal, agent, groups).await?;
            Ok(json(StatusCode::OK, &agent_view(&updated)))
        }
        Operation::AcceptOffer => {
            let AcceptRequest {} = parse_json(request)?;
            let assigned = presence::accept(backend, &principal, &conversation_id(&route)?).await?;
            Ok(json(StatusCode::OK, &accepted_offer_view(&assigned)))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: AgentStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityRequest {
    messaging: u32,
    email: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsRequest {
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptRequest {}
