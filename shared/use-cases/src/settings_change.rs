//! Changing an account's settings (R1–R11): a merge patch checked by the domain, committed
//! with its audit entry and side-effect jobs in one atomic step on the version it was read at,
//! and the jobs sent to their queue.

use serde_json::Value;
use thiserror::Error;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::StoredSettings;
use domain::now_ms;
use domain::settings::{apply_patch, AuditEntry, EffectJob, Settings, SettingsError, GENESIS_HASH};

/// Why a change was not made.
#[derive(Debug, Error)]
pub enum ChangeError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The settings are no longer at the version the change was made against.
    #[error("the settings changed; the current version is {current}")]
    VersionConflict { current: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change as stored: its version and the effective settings after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub version: u64,
    pub settings: Settings,
}

/// Applies `patch` to the account's settings if they are still at `expected_version`
/// (0: never changed), as `actor`. A patch that changes nothing stores nothing and answers the
/// current version.
pub async fn change_settings(
    backend: &Backend,
    account_id: &str,
    actor: &str,
    expected_version: u64,
    patch: &Value,
) -> Result<Changed, ChangeError> {
    let stored = backend.store.get_settings(account_id).await?;
    let current = stored.as_ref().map_or(0, |s| s.version);
    if expected_version != current {
        return Err(ChangeError::VersionConflict { current });
    }
    let account = backend
        .store
        .get_account(account_id)
        .await?
        .ok_or_else(|| StoreError::Internal("settings of an unknown account".into()))?;
    let facts = backend.store.get_workspace_facts(account_id).await?;
    let document = stored.as_ref().map(|s| &s.document);
    let outcome = apply_patch(document, patch, &account, &facts)?;
    let unchanged = document.map_or_else(
        || outcome.stored.as_object().is_some_and(|o| o.is_empty()),
        |d| *d == outcome.stored,
    );
    if unchanged {
        return Ok(Changed {
            version: current,
            settings: outcome.after,
        });
    }

    let now = now_ms();
    let version = current + 1;
    let prev_hash = stored
        .as_ref()
        .map_or(GENESIS_HASH.to_string(), |s| s.last_hash.clone());
    let audit = AuditEntry::new(account_id, version, actor, now, outcome.changes, &prev_hash);
    let jobs: Vec<EffectJob> = outcome
        .effects
        .iter()
        .map(|&effect| EffectJob {
            account_id: account_id.into(),
            version,
            effect,
            requested_at: now,
            cursor: None,
        })
        .collect();
    let next = StoredSettings {
        version,
        document: outcome.stored,
        last_hash: audit.hash.clone(),
    };
    match backend
        .store
        .commit_settings(account_id, current, &next, &audit, &jobs)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ChangeError::VersionConflict {
                current: current + 1,
            })
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(%account_id, version, %actor, "settings changed");
    backend
        .settings_cache
        .keep(account_id, version, &outcome.after);
    // The outbox holds the jobs already; a failed send is re-driven later, never lost.
    for job in &jobs {
        if let Err(error) = send_effect(backend, job).await {
            tracing::warn!(%error, %account_id, version, "effect not queued yet; outbox keeps it");
        }
    }
    Ok(Changed {
        version,
        settings: outcome.after,
    })
}

/// Appends an entry to the account's audit log that changes no setting (an erasure, say):
/// the settings are stored again unchanged at the next version, with `changes` as its entry,
/// so the one hash chain (R10) orders and protects every audited act. Answers the version.
pub async fn record_in_audit(
    backend: &Backend,
    account_id: &str,
    actor: &str,
    changes: std::collections::BTreeMap<String, domain::settings::Change>,
) -> Result<u64, StoreError> {
    const ATTEMPTS: u32 = 8;
    for _ in 0..ATTEMPTS {
        let stored = backend.store.get_settings(account_id).await?;
        let current = stored.as_ref().map_or(0, |s| s.version);
        let version = current + 1;
        let prev_hash = stored
            .as_ref()
            .map_or(GENESIS_HASH.to_string(), |s| s.last_hash.clone());
        let audit = AuditEntry::new(
            account_id,
            version,
            actor,
            now_ms(),
            changes.clone(),
            &prev_hash,
        );
        let next = StoredSettings {
            version,
            document: stored
                .map(|s| s.document)
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
            last_hash: audit.hash.clone(),
        };
        match backend
            .store
            .commit_settings(account_id, current, &next, &audit, &[])
            .await
        {
            Ok(()) => return Ok(version),
            // A settings change got in first: chain after it.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable("the audit log is busy".into()))
}

/// Queues one side effect of a committed change.
pub async fn send_effect(backend: &Backend, job: &EffectJob) -> Result<(), StoreError> {
    let body = serde_json::to_string(job)
        .map_err(|e| StoreError::Internal(format!("effect encoding: {e}")))?;
    backend.settings_effects_queue.send(&body, 0).await
}
