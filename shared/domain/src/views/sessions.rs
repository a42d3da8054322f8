//! What an agent is shown after ending a session or closing a ticket, and an end user after
//! rating a session.

use serde_json::json;

use crate::model::Conversation;
use crate::rfc3339;
use crate::sessions::CsatRequest;
use crate::surveys::CsatReport;

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

/// The CSAT report over `[from, to]`; `truncated` when more ratings fell in the range than
/// one report reads.
pub fn csat_report_view(
    report: &CsatReport,
    (from, to): (i64, i64),
    truncated: bool,
) -> serde_json::Value {
    let mut body = serde_json::to_value(report).unwrap_or_default();
    body["from"] = json!(rfc3339(from));
    body["to"] = json!(rfc3339(to));
    body["truncated"] = json!(truncated);
    body
}
