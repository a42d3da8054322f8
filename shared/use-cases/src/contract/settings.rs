//! Settings: versioned commits with their audit entry and outbox (R10), workspace facts.

use super::*;

pub async fn settings_commit_is_conditional_on_version_and_audited(store: Arc<dyn Store>) {
    let account = fresh_account();
    assert_eq!(store.get_settings(&account).await.unwrap(), None);
    let entry = |version: u64, prev: &str| {
        AuditEntry::new(&account, version, "admin-1", 10, Default::default(), prev)
    };
    let first = entry(1, GENESIS_HASH);
    let v1 = StoredSettings {
        version: 1,
        document: serde_json::json!({"bot": {"enabled": false}}),
        last_hash: first.hash.clone(),
    };
    let job = EffectJob {
        account_id: account.clone(),
        version: 1,
        effect: SettingsEffect::EndLiveChats,
        requested_at: 10,
        cursor: None,
    };
    store
        .commit_settings(&account, 0, &v1, &first, std::slice::from_ref(&job))
        .await
        .unwrap();
    assert_eq!(
        store.get_settings(&account).await.unwrap(),
        Some(v1.clone())
    );
    // A second writer that read version 0 loses, and writes nothing.
    let rival = entry(1, GENESIS_HASH);
    let stale = StoredSettings {
        version: 1,
        document: serde_json::json!({}),
        last_hash: rival.hash.clone(),
    };
    assert!(matches!(
        store
            .commit_settings(&account, 0, &stale, &rival, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_settings(&account).await.unwrap(),
        Some(v1.clone())
    );
    let second = entry(2, &first.hash);
    let v2 = StoredSettings {
        version: 2,
        document: serde_json::json!({}),
        last_hash: second.hash.clone(),
    };
    store
        .commit_settings(&account, 1, &v2, &second, &[])
        .await
        .unwrap();
    let audit = store.list_audit(&account, 0, 10).await.unwrap();
    assert_eq!(audit, vec![first.clone(), second.clone()]);
    assert_eq!(
        store.list_audit(&account, 1, 10).await.unwrap(),
        vec![second]
    );
    assert_eq!(domain::settings::verify_chain(&audit), Ok(()));

    assert_eq!(
        store.pending_effects(&account).await.unwrap(),
        vec![job.clone()]
    );
    store.complete_effect(&job).await.unwrap();
    store.complete_effect(&job).await.unwrap();
    assert!(store.pending_effects(&account).await.unwrap().is_empty());
}

pub async fn workspace_facts_default_and_round_trip(store: Arc<dyn Store>) {
    let account = fresh_account();
    assert_eq!(
        store.get_workspace_facts(&account).await.unwrap(),
        WorkspaceFacts::default()
    );
    let facts = WorkspaceFacts {
        groups: vec!["billing".into()],
        unconverted_chat_departments: 2,
        help_center_articles: 12,
    };
    store.put_workspace_facts(&account, &facts).await.unwrap();
    assert_eq!(store.get_workspace_facts(&account).await.unwrap(), facts);
}
