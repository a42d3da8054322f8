//! Macros (#36): admins write shared macros, agents their own; staff apply one to a
//! conversation: its text, placeholders filled, posted as their message, then its actions
//! (priority, group, tags, end of the session).
//!
//! Applying is idempotent like any send: the message is posted under the request's
//! `client_message_id` (a retry finds it and posts nothing), and the actions set values (a
//! priority, a group, tags added, a session ended), so running them again leaves the same
//! conversation. They run after the message, so a retry after a failure half-way completes
//! them; the session ends last, as a message after an end would start a new session.

use thiserror::Error;

use crate::agent_workspace::{change_fields, WorkspaceError};
use crate::auth::Principal;
use crate::backend::Backend;
use crate::conversations::{post, visible, ConversationError, Posted};
use crate::error::StoreError;
use crate::ports::MacroStore;
use crate::sessions;
use domain::ids::{is_valid_id, new_id, ConversationId};
use domain::macros::{render, Macro, MacroDraft, PlaceholderValues, MAX_MACROS_PER_ACCOUNT};
use domain::model::Role;
use domain::rules::{check_client_message_id, PostMessageRequest, RequestedKind};
use domain::settings::AuditEntry;
use domain::DomainError;

const MACRO_ID_PREFIX: &str = "mac";
/// A change made while another moved the book is tried again this often.
const MAX_CHANGE_ATTEMPTS: u32 = 5;

#[derive(Debug, Error)]
pub enum MacroError {
    #[error("only staff use macros")]
    NotStaff,
    #[error("no such macro")]
    NotFound,
    #[error("an account keeps at most {MAX_MACROS_PER_ACCOUNT} macros")]
    TooManyMacros,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

fn staff(principal: &Principal) -> Result<(), MacroError> {
    if principal.role.is_staff() {
        Ok(())
    } else {
        Err(MacroError::NotStaff)
    }
}

/// Whether `principal` may use `m`: a shared macro, or their own.
fn usable(principal: &Principal, m: &Macro) -> bool {
    m.owner_id
        .as_ref()
        .is_none_or(|owner| *owner == principal.user_id)
}

/// Whether `principal` may change `m`: admins the shared ones, agents (and admins) their own.
fn writable(principal: &Principal, m: &Macro) -> bool {
    match &m.owner_id {
        None => principal.role == Role::Admin,
        Some(owner) => *owner == principal.user_id,
    }
}

/// `POST /v1/macros`: shared when an admin writes it, personal when an agent does.
pub async fn create_macro(
    store: &dyn MacroStore,
    principal: &Principal,
    draft: MacroDraft,
    now: i64,
) -> Result<Macro, MacroError> {
    staff(principal)?;
    draft.validate()?;
    let owner = (principal.role != Role::Admin).then_some(principal.user_id.as_str());
    let created = draft.into_macro(
        (&principal.account_id, &new_id(MACRO_ID_PREFIX)),
        owner,
        (&principal.user_id, now),
        None,
    );
    record(store, principal, (None, Some(&created)), now).await?;
    tracing::info!(account_id = %principal.account_id, macro_id = %created.id, by = %principal.user_id, shared = owner.is_none(), "macro created");
    Ok(created)
}

/// Writes one change with its audit entry, on the book as read (read again and tried again
/// when another change moved it meanwhile); a creation past the limit is refused, and a
/// change of a macro someone else changed since `before` was read is a conflict (409).
async fn record(
    store: &dyn MacroStore,
    principal: &Principal,
    (before, after): (Option<&Macro>, Option<&Macro>),
    now: i64,
) -> Result<(), MacroError> {
    for _ in 0..MAX_CHANGE_ATTEMPTS {
        let mut book = store.macro_book(&principal.account_id).await?;
        if book.version == 0 {
            // Macros written before the book existed (#36's first cut) are counted once.
            book.count = store.list_macros(&principal.account_id).await?.len() as u32;
        }
        match before {
            None if book.count as usize >= MAX_MACROS_PER_ACCOUNT => {
                return Err(MacroError::TooManyMacros)
            }
            None => {}
            // The macro as read must still be the stored one (read after the book, so the
            // book's condition covers it): another's change is not overwritten.
            Some(before) => {
                let stored = store.get_macro(&principal.account_id, &before.id).await?;
                match stored {
                    None => return Err(MacroError::NotFound),
                    Some(m) if m.revision != before.revision => {
                        return Err(StoreError::Conflict.into())
                    }
                    Some(_) => {}
                }
            }
        }
        let Some((next, audit)) = book.after((before, after), &principal.user_id, now) else {
            return Ok(());
        };
        match store.change_macro(&next, (before, after), &audit).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// `GET /v1/macros/audit` (admins): the audit entries of macro changes after version
/// `after`, oldest first, and the cursor of the next page.
pub async fn macro_audit(
    store: &dyn MacroStore,
    principal: &Principal,
    after: u64,
    limit: usize,
) -> Result<(Vec<AuditEntry>, Option<String>), MacroError> {
    if principal.role != Role::Admin {
        return Err(MacroError::NotStaff);
    }
    let entries = store
        .list_macro_audit(&principal.account_id, after, limit)
        .await?;
    let next_cursor = domain::settings::next_audit_cursor(&entries, limit);
    Ok((entries, next_cursor))
}

/// `GET /v1/macros`: the shared macros and the caller's own.
pub async fn macros(
    store: &dyn MacroStore,
    principal: &Principal,
) -> Result<Vec<Macro>, MacroError> {
    staff(principal)?;
    let all = store.list_macros(&principal.account_id).await?;
    Ok(all.into_iter().filter(|m| usable(principal, m)).collect())
}

/// Macro `macro_id` as the caller may use it (another agent's is not there for them).
pub async fn usable_macro(
    store: &dyn MacroStore,
    principal: &Principal,
    macro_id: &str,
) -> Result<Macro, MacroError> {
    staff(principal)?;
    if !is_valid_id(MACRO_ID_PREFIX, macro_id) {
        return Err(MacroError::NotFound);
    }
    store
        .get_macro(&principal.account_id, macro_id)
        .await?
        .filter(|m| usable(principal, m))
        .ok_or(MacroError::NotFound)
}

/// `PUT /v1/macros/{id}` (a draft) or `DELETE` (none): by whoever may change it.
pub async fn change_macro(
    store: &dyn MacroStore,
    principal: &Principal,
    macro_id: &str,
    draft: Option<MacroDraft>,
    now: i64,
) -> Result<Option<Macro>, MacroError> {
    let before = usable_macro(store, principal, macro_id).await?;
    if !writable(principal, &before) {
        return Err(MacroError::NotStaff);
    }
    let Some(draft) = draft else {
        record(store, principal, (Some(&before), None), now).await?;
        tracing::info!(account_id = %principal.account_id, macro_id = %macro_id, by = %principal.user_id, "macro deleted");
        return Ok(None);
    };
    draft.validate()?;
    let after = draft.into_macro(
        (&principal.account_id, macro_id),
        before.owner_id.as_deref(),
        (&principal.user_id, now),
        Some(&before),
    );
    record(store, principal, (Some(&before), Some(&after)), now).await?;
    tracing::info!(account_id = %principal.account_id, macro_id = %macro_id, by = %principal.user_id, revision = after.revision, "macro changed");
    Ok(Some(after))
}

/// What applying a macro answered.
#[derive(Debug)]
pub enum Applied {
    /// `preview`: the text as it would be posted.
    Preview(String),
    /// Posted (or found posted, on a retry) with its actions applied.
    Posted(Box<Posted>),
}

/// `POST /v1/conversations/{cid}/macros/{macro_id}/apply`.
pub async fn apply_macro(
    backend: &Backend,
    principal: &Principal,
    (cid, macro_id): (&ConversationId, &str),
    client_message_id: String,
    preview: bool,
    now: i64,
) -> Result<Applied, MacroError> {
    check_client_message_id(&client_message_id)?;
    let store = backend.store.as_ref();
    let applied = usable_macro(store, principal, macro_id).await?;
    let conversation = visible(store, principal, cid).await?;
    let agent_name = principal
        .profile_claims
        .name
        .as_ref()
        .and_then(|n| n.as_str());
    let text = render(
        &applied.text,
        &PlaceholderValues::of(&conversation, agent_name),
    );
    if preview {
        return Ok(Applied::Preview(text));
    }
    let body = PostMessageRequest {
        client_message_id,
        kind: RequestedKind::Text,
        text: Some(text),
        rich: None,
        attachment_ids: None,
    };
    let posted = post(backend, principal, cid, body, now).await?;
    if let Some(patch) = applied.actions.fields_patch() {
        change_fields(backend, principal, cid, &patch).await?;
    }
    if applied.actions.end_session {
        sessions::end(backend, principal, cid).await?;
    }
    tracing::info!(account_id = %principal.account_id, conversation_id = %cid.as_str(), macro_id = %macro_id, by = %principal.user_id, "macro applied");
    Ok(Applied::Posted(Box::new(posted)))
}
