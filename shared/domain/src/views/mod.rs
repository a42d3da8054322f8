//! What each reader is shown of a stored conversation or message, the same over HTTP and over
//! the WebSocket: R15 (end users get rich content as sent, staff its text rendering) and the
//! shape of the spec's conversation and message objects.

mod admin;
mod agents;
mod attachments;
mod knowledge;
mod macros;
mod reports;
mod sessions;
mod workspace;

pub use admin::{
    audit_page_view, created_integration_view, created_signing_key_view, created_subscription_view,
    deliveries_view, integration_view, integrations_view, readiness_view, settings_document_view,
    signing_keys_view, subscription_view, subscriptions_view,
};
pub use agents::{accepted_offer_view, agent_view, offer_view, offers_view};
pub use attachments::{admitted_view, attachment_view, decision_view, downloadable_view};
pub use knowledge::{article_matches_view, article_view, articles_view};
pub use macros::{macro_preview_view, macro_view, macros_view};
pub use reports::{messaging_report_csv, messaging_report_view};
pub use sessions::{csat_report_view, rating_view, session_outcome_view};
pub use workspace::{history_view, inbox_page_view};

use serde::Serialize;
use serde_json::json;

use crate::messages::Earlier;
use crate::model::{Conversation, Message, ParticipantState, Role};
use crate::rfc3339;

#[derive(Serialize)]
struct ParticipantView {
    read_seq: u64,
    delivered_seq: u64,
    typing: bool,
}

/// A conversation as the spec's conversation object (`typing` as of `now`).
pub fn conversation_view(c: &Conversation, now: i64) -> serde_json::Value {
    let side = |p: &ParticipantState| ParticipantView {
        read_seq: p.read_seq,
        delivered_seq: p.delivered_seq,
        typing: p.typing_until.is_some_and(|until| until > now),
    };
    json!({
        "id": c.id,
        "channel": c.channel,
        "control": c.control,
        "assignee": c.assignee,
        "session": c.session,
        "session_no": c.session_no,
        "ticket_id": c.ticket_id,
        "ticket_status": c.ticket_status,
        "tags": c.tags,
        "priority": c.priority,
        "group": c.group,
        "end_user": end_user_view(c),
        "visitor_context": c.visitor_context.as_ref().map(visitor_context_view),
        "last_message_at": c.last_message_at.map(rfc3339),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
        "participants": {"end_user": side(&c.end_user), "agents": side(&c.agents)},
    })
}

/// Who the end user is: their id, and the name and email their token last gave.
fn end_user_view(c: &Conversation) -> serde_json::Value {
    let mut view = json!({"id": c.owner_id});
    if let Some(name) = &c.end_user_profile.name {
        view["name"] = json!(name);
    }
    if let Some(email) = &c.end_user_profile.email {
        view["email"] = json!(email);
    }
    if let Some(locale) = c.end_user_profile.locale {
        view["locale"] = json!(locale);
    }
    view
}

/// Where the end user is: pages (oldest first, times as RFC 3339), browser, OS, device class.
fn visitor_context_view(v: &crate::visitor_context::VisitorContext) -> serde_json::Value {
    let pages: Vec<serde_json::Value> = v
        .pages
        .iter()
        .map(|p| json!({"path": p.path, "title": p.title, "at": rfc3339(p.at)}))
        .collect();
    json!({
        "pages": pages,
        "browser": v.client.browser,
        "os": v.client.os,
        "device": v.client.device,
        "updated_at": rfc3339(v.updated_at),
    })
}

/// One item of the agent inbox (spec "Agent workspace").
pub fn inbox_item_view(c: &Conversation) -> serde_json::Value {
    json!({
        "id": c.id,
        "ticket_id": c.ticket_id,
        "ticket_status": c.ticket_status,
        "channel": c.channel,
        "priority": c.priority,
        "group": c.group,
        "tags": c.tags,
        "assignee": c.assignee,
        "control": c.control,
        "session": c.session,
        "end_user": end_user_view(c),
        "last_message_at": rfc3339(c.activity_at()),
    })
}

/// R15: end users (and bots, whose content it often is) get rich content as sent; agents see
/// its text rendering.
pub fn message_view(m: &Message, viewer: Role) -> serde_json::Value {
    let mut view = json!({
        "id": m.id,
        "seq": m.seq,
        "conversation_id": m.conversation_id,
        "client_message_id": m.client_message_id,
        "type": m.kind,
        "author": {"role": m.author_role, "id": m.author_id},
        "text": m.text,
        "attachment_ids": m.attachment_ids,
        "session_no": m.session_no,
        "ticket_id": m.ticket_id,
        "created_at": rfc3339(m.created_at),
    });
    if matches!(viewer, Role::EndUser | Role::Integration) {
        view["rich"] = m.rich.clone().unwrap_or(serde_json::Value::Null);
    }
    if let Some(redaction) = &m.redacted {
        view["redacted"] = json!({"reason": redaction.reason, "at": rfc3339(redaction.at)});
        if viewer.is_staff() {
            view["redacted"]["by"] = json!(redaction.by);
        }
    }
    view
}

/// `GET /v1/conversations`: the caller's conversations.
pub fn conversations_view(conversations: &[Conversation], now: i64) -> serde_json::Value {
    let views: Vec<_> = conversations
        .iter()
        .map(|c| conversation_view(c, now))
        .collect();
    json!({ "conversations": views })
}

/// A posted message, as its poster reads it (`POST …/messages`, created or replayed).
pub fn posted_message_view(m: &Message, viewer: Role) -> serde_json::Value {
    json!({ "message": message_view(m, viewer) })
}

/// A page of messages, oldest first, with the cursor forwards and, for a page read
/// backwards, the one further back (null once the start was reached).
pub fn message_page_view(
    messages: &[Message],
    next_after_seq: u64,
    earlier: Earlier,
    viewer: Role,
) -> serde_json::Value {
    let views: Vec<_> = messages.iter().map(|m| message_view(m, viewer)).collect();
    let mut page = json!({ "messages": views, "next_after_seq": next_after_seq });
    match earlier {
        Earlier::NotAsked => {}
        Earlier::StartReached => page["prev_before_seq"] = serde_json::Value::Null,
        Earlier::Before(seq) => page["prev_before_seq"] = json!(seq),
    }
    page
}

/// A handoff's answer: who holds the conversation now.
pub fn handoff_view(c: &Conversation) -> serde_json::Value {
    json!({ "control": c.control, "assignee": c.assignee })
}

/// A request taken for processing (202) that has nothing else to say.
pub fn accepted_view() -> serde_json::Value {
    json!({ "accepted": true })
}
