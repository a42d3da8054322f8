//! Settings: the versioned document, audit chain, side-effects outbox, workspace facts.

use super::*;

pub(super) fn effect_key(job: &EffectJob) -> (String, u64, String) {
    (
        job.account_id.clone(),
        job.version,
        job.effect.as_str().to_string(),
    )
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_settings(&self, account_id: &str) -> Result<Option<StoredSettings>, StoreError> {
        Ok(self.lock()?.settings.get(account_id).cloned())
    }

    async fn commit_settings(
        &self,
        account_id: &str,
        expected_version: u64,
        settings: &StoredSettings,
        audit: &AuditEntry,
        effects: &[EffectJob],
    ) -> Result<(), StoreError> {
        // R32: what DynamoDB would refuse, refused here too.
        crate::dynamo::limits::check_value(settings)?;
        crate::dynamo::limits::check_value(audit)?;
        let mut tables = self.lock()?;
        let current = tables.settings.get(account_id).map_or(0, |s| s.version);
        if current != expected_version {
            return Err(StoreError::Conflict);
        }
        tables
            .settings
            .insert(account_id.to_string(), settings.clone());
        tables
            .audit
            .entry(account_id.to_string())
            .or_default()
            .insert(audit.version, audit.clone());
        for job in effects {
            tables.outbox.insert(effect_key(job), job.clone());
        }
        Ok(())
    }

    async fn list_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .lock()?
            .audit
            .get(account_id)
            .map(|entries| {
                entries
                    .range(after_version.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, e)| e.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn pending_effects(&self, account_id: &str) -> Result<Vec<EffectJob>, StoreError> {
        Ok(self
            .lock()?
            .outbox
            .values()
            .filter(|job| job.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn complete_effect(&self, job: &EffectJob) -> Result<(), StoreError> {
        self.lock()?.outbox.remove(&effect_key(job));
        Ok(())
    }

    async fn get_workspace_facts(&self, account_id: &str) -> Result<WorkspaceFacts, StoreError> {
        Ok(self
            .lock()?
            .facts
            .get(account_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_workspace_facts(
        &self,
        account_id: &str,
        facts: &WorkspaceFacts,
    ) -> Result<(), StoreError> {
        self.lock()?
            .facts
            .insert(account_id.to_string(), facts.clone());
        Ok(())
    }
}
