//! What agents and admins are shown of an agent, its standing offers and an accepted offer.

use serde_json::json;

use crate::model::{Conversation, Offer};
use crate::rfc3339;
use crate::routing::Agent;

/// An agent's presence, capacity, load and groups (`/v1/agents/me`, an admin's changes).
pub fn agent_view(agent: &Agent) -> serde_json::Value {
    json!({
        "id": agent.id,
        "status": agent.status,
        "capacity": {"messaging": agent.cap_messaging, "email": agent.cap_email},
        "load": {"messaging": agent.load_messaging, "email": agent.load_email},
        "groups": agent.groups,
        "updated_at": rfc3339(agent.updated_at),
    })
}

/// One offer standing to the agent.
pub fn offer_view(offer: &Offer) -> serde_json::Value {
    json!({
        "conversation_id": offer.conversation_id,
        "offered_at": rfc3339(offer.offered_at),
        "expires_at": rfc3339(offer.expires_at),
    })
}

/// `GET /v1/agents/me/offers`.
pub fn offers_view(offers: &[Offer]) -> serde_json::Value {
    let views: Vec<_> = offers.iter().map(offer_view).collect();
    json!({ "offers": views })
}

/// An accepted offer: who holds the conversation now, and its ticket.
pub fn accepted_offer_view(assigned: &Conversation) -> serde_json::Value {
    json!({
        "conversation_id": assigned.id,
        "assignee": assigned.assignee,
        "control": assigned.control,
        "ticket_status": assigned.ticket_status,
    })
}
