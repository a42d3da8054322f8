//! Macros as their users get them (`/v1/macros`), and a macro's preview.

use serde_json::{json, Value};

use crate::macros::Macro;
use crate::rfc3339;

pub fn macro_view(m: &Macro) -> Value {
    json!({
        "id": m.id,
        "title": m.title,
        "text": m.text,
        "actions": m.actions,
        "shared": m.owner_id.is_none(),
        "owner_id": m.owner_id,
        "revision": m.revision,
        "created_by": m.created_by,
        "created_at": rfc3339(m.created_at),
        "updated_at": rfc3339(m.updated_at),
    })
}

/// `GET /v1/macros`: the shared macros and the caller's own.
pub fn macros_view(macros: &[Macro]) -> Value {
    json!({ "macros": macros.iter().map(macro_view).collect::<Vec<_>>() })
}

/// A macro's text as it would be posted to one conversation.
pub fn macro_preview_view(text: &str) -> Value {
    json!({ "preview": true, "text": text })
}
