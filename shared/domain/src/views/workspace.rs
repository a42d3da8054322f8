//! What the agent workspace shows besides conversations and messages: inbox pages and a
//! ticket's history.

use serde_json::json;

use super::inbox_item_view;
use crate::model::Conversation;
use crate::rfc3339;
use crate::workspace::HistoryEntry;

/// A page of an inbox view and where the next one starts (`null` on the last page).
pub fn inbox_page_view(
    conversations: &[Conversation],
    next_cursor: Option<&str>,
) -> serde_json::Value {
    let items: Vec<_> = conversations.iter().map(inbox_item_view).collect();
    json!({ "conversations": items, "next_cursor": next_cursor })
}

/// A ticket's history, oldest first.
pub fn history_view(entries: &[HistoryEntry]) -> serde_json::Value {
    let views: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "revision": e.revision,
                "ticket_id": e.ticket_id,
                "field": e.field,
                "before": e.before,
                "after": e.after,
                "by": e.by,
                "at": rfc3339(e.at),
            })
        })
        .collect();
    json!({ "changes": views })
}
