//! Settings: the versioned document, its audit chain, the side-effects outbox, workspace facts.

use super::*;

pub(super) fn audit_pk(account_id: &str) -> String {
    format!("A#{account_id}#AUDIT")
}

pub(super) fn outbox_sk(job: &EffectJob) -> String {
    format!("OUTBOX#{:012}#{}", job.version, job.effect.as_str())
}

impl DynamoStore {
    /// A hash-chained audit entry's item under `pk`, keyed `{prefix}{version:012}`, put once
    /// (the settings' and the macros' logs).
    pub(super) fn audit_entry_put(
        &self,
        pk: String,
        prefix: &str,
        audit: &AuditEntry,
    ) -> Result<TransactWriteItem, StoreError> {
        let item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(pk)),
            (SORT_KEY.into(), s(format!("{prefix}{:012}", audit.version))),
            ("entry".into(), json_attribute(audit)?),
        ]);
        self.transact_put(item, "attribute_not_exists(pk)", None)
    }

    /// The audit entries under `pk` keyed `{prefix}{version:012}` after `after_version`,
    /// oldest first, at most `limit`.
    pub(super) async fn audit_entries(
        &self,
        pk: String,
        prefix: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let Some(first) = first_after(after_version) else {
            return Ok(Vec::new());
        };
        self.query_range(
            pk,
            format!("{prefix}{first:012}"),
            &format!("{prefix}{MAX_KEYED_NUMBER:012}"),
            limit,
        )
        .await?
        .iter()
        .map(|item| from_json_attribute(item, "entry"))
        .collect()
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(&self, account_id: &str) -> Result<Option<StoredSettings>, StoreError> {
        let Some(item) = self.get(account_pk(account_id), "SETTINGS".into()).await? else {
            return Ok(None);
        };
        from_json_attribute(&item, "settings").map(Some)
    }

    async fn commit_settings(
        &self,
        account_id: &str,
        expected_version: u64,
        settings: &StoredSettings,
        audit: &AuditEntry,
        effects: &[EffectJob],
    ) -> Result<(), StoreError> {
        let settings_item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(account_pk(account_id))),
            (SORT_KEY.into(), s("SETTINGS")),
            (
                "version".into(),
                AttributeValue::N(settings.version.to_string()),
            ),
            ("settings".into(), json_attribute(settings)?),
        ]);
        let settings_put = if expected_version == 0 {
            self.transact_put(settings_item, "attribute_not_exists(pk)", None)?
        } else {
            self.transact_put(
                settings_item,
                "#v = :expected",
                Some((":expected", AttributeValue::N(expected_version.to_string()))),
            )?
        };
        let mut items = vec![
            settings_put,
            self.audit_entry_put(audit_pk(account_id), "V#", audit)?,
        ];
        for job in effects {
            let outbox_item: Item = HashMap::from([
                (PARTITION_KEY.into(), s(account_pk(account_id))),
                (SORT_KEY.into(), s(outbox_sk(job))),
                ("job".into(), json_attribute(job)?),
            ]);
            items.push(self.transact_put(outbox_item, "attribute_not_exists(pk)", None)?);
        }
        // Any failed condition means another change took this version.
        self.transact(items).await
    }

    async fn list_audit(
        &self,
        account_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries(audit_pk(account_id), "V#", after_version, limit)
            .await
    }

    async fn pending_effects(&self, account_id: &str) -> Result<Vec<EffectJob>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :outbox)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":outbox", s("OUTBOX#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| from_json_attribute(item, "job"))
            .collect()
    }

    async fn complete_effect(&self, job: &EffectJob) -> Result<(), StoreError> {
        self.delete((account_pk(&job.account_id), outbox_sk(job)))
            .await
    }

    async fn get_workspace_facts(&self, account_id: &str) -> Result<WorkspaceFacts, StoreError> {
        match self.get(account_pk(account_id), "WORKSPACE".into()).await? {
            Some(item) => from_json_attribute(&item, "facts"),
            None => Ok(WorkspaceFacts::default()),
        }
    }

    async fn put_workspace_facts(
        &self,
        account_id: &str,
        facts: &WorkspaceFacts,
    ) -> Result<(), StoreError> {
        let item: Item = HashMap::from([
            (PARTITION_KEY.into(), s(account_pk(account_id))),
            (SORT_KEY.into(), s("WORKSPACE")),
            ("facts".into(), json_attribute(facts)?),
        ]);
        self.put(item, None).await
    }
}
