//! What the admin settings API reads (R1–R11): the settings document at its version, the
//! audit trail, readiness (R11) and the workspace facts readiness counts. Changing settings
//! is `settings_change`; what a change leaves to do is `settings_effects`.

use domain::settings::{
    readiness as checklist, AuditEntry, ReadinessItem, Settings, WorkspaceFacts,
};
use domain::workspace::groups_are_valid;
use domain::{now_ms, DomainError};

use crate::backend::Backend;
use crate::ports::SettingsStore;
use crate::settings_change::send_effect;
use crate::StoreError;

/// A pending side effect older than this is sent to the queue again (its message was lost).
const EFFECT_REDRIVE_AFTER_MS: i64 = 60_000;
/// Groups a workspace may list.
const MAX_GROUPS: usize = 500;

/// The account's effective settings and their version (0: never changed). Reading also sends
/// again the effects whose queue message seems lost.
pub async fn current(backend: &Backend, account_id: &str) -> Result<(u64, Settings), StoreError> {
    let (stored, settings) = backend.stored_and_effective_settings(account_id).await?;
    redrive_stale_effects(backend, account_id).await;
    Ok((stored.map_or(0, |s| s.version), settings))
}

/// Sends again the account's pending effects whose queue message seems lost. Best effort: a
/// failure here leaves them pending for the next try.
async fn redrive_stale_effects(backend: &Backend, account_id: &str) {
    let pending = match backend.store.pending_effects(account_id).await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(%error, "cannot read pending settings effects");
            return;
        }
    };
    let now = now_ms();
    for job in pending
        .iter()
        .filter(|j| now - j.requested_at > EFFECT_REDRIVE_AFTER_MS)
    {
        if let Err(error) = send_effect(backend, job).await {
            tracing::warn!(%error, "cannot re-drive settings effect");
        }
    }
}

/// Up to `limit` audit entries after version `after`, and the cursor of the next page.
pub async fn audit_page(
    store: &(impl SettingsStore + ?Sized),
    account_id: &str,
    after: u64,
    limit: usize,
) -> Result<(Vec<AuditEntry>, Option<String>), StoreError> {
    let entries = store.list_audit(account_id, after, limit).await?;
    let next_cursor = domain::settings::next_audit_cursor(&entries, limit);
    Ok((entries, next_cursor))
}

/// R11's checklist. Routing is configured when it has someone to route to: an agent with
/// messaging capacity. Help-centre articles: the knowledge base's published ones, or the
/// count the workspace facts declare (a help centre kept elsewhere), whichever is more.
pub async fn readiness(
    backend: &Backend,
    account_id: &str,
) -> Result<(bool, Vec<ReadinessItem>), StoreError> {
    let settings = backend.settings(account_id).await?;
    let mut facts = backend.store.get_workspace_facts(account_id).await?;
    let published = backend.store.knowledge_base(account_id).await?.published;
    facts.help_center_articles = facts.help_center_articles.max(published);
    let routing_configured = backend
        .store
        .list_agents(account_id)
        .await?
        .iter()
        .any(|agent| agent.cap_messaging > 0);
    Ok(checklist(&settings, &facts, routing_configured))
}

/// The workspace facts (groups, chat departments, help-center articles).
pub async fn workspace(
    store: &(impl SettingsStore + ?Sized),
    account_id: &str,
) -> Result<WorkspaceFacts, StoreError> {
    store.get_workspace_facts(account_id).await
}

/// Replaces the workspace facts; groups must be valid names, at most 500.
pub async fn put_workspace(
    store: &(impl SettingsStore + ?Sized),
    account_id: &str,
    facts: &WorkspaceFacts,
) -> Result<(), WorkspaceFactsError> {
    if !groups_are_valid(&facts.groups, MAX_GROUPS) {
        return Err(DomainError::InvalidWorkspace { max: MAX_GROUPS }.into());
    }
    Ok(store.put_workspace_facts(account_id, facts).await?)
}

/// Why workspace facts were not stored.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceFactsError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
