//! What an agent is shown after ending a session or closing a ticket, and an end user after
//! rating a session.

use serde_json::json;

use crate::model::Conversation;
use crate::sessions::CsatRequest;

/// A session step's outcome; `changed` is false for a repeated request that found it done.
pub fn session_outcome_view(conversation: &Conversation, changed: bool) -> serde_json::Value {
    json!({
        "conversation_id": conversation.id,
        "session": conversation.session,
        "session_no": conversation.session_no,
        "control": conversation.control,
        "assignee": conversation.assignee,
        "ticket_id": conversation.ticket_id,
        "ticket_status": conversation.ticket_status,
        "changed": changed,
    })
}

/// A rating as stored (R6).
pub fn rating_view(rated: &CsatRequest) -> serde_json::Value {
    json!({
        "conversation_id": rated.conversation_id,
        "session_no": rated.session_no,
        "score": rated.score,
        "comment": rated.comment,
    })
}
