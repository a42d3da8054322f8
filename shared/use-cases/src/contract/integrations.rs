//! Integrations: stored by key hash, listed per account, revoked for good.

use super::*;
use domain::integrations::{create_integration, parse_key, IntegrationScope, NewIntegration};

pub async fn integrations_round_trip_list_per_account_and_stay_revoked(store: Arc<dyn Store>) {
    let (account, other) = (fresh_account(), fresh_account());
    let make = |account: &str, name: &str, at: i64| {
        create_integration(
            account,
            "admin-1",
            NewIntegration {
                name: name.into(),
                scopes: vec![IntegrationScope::Bot],
            },
            at,
        )
        .unwrap()
    };
    let (first, second, foreign) = (
        make(&account, "first", 10),
        make(&account, "second", 20),
        make(&other, "foreign", 5),
    );
    for created in [&second, &first, &foreign] {
        store
            .create_integration(&created.integration)
            .await
            .unwrap();
    }
    let presented = parse_key(&first.key).unwrap();
    let stored = store
        .get_integration(presented.account_id, presented.integration_id)
        .await
        .unwrap()
        .unwrap();
    assert!(presented.opens(&stored));
    assert_eq!(stored, first.integration);
    // Another account's id under this account finds nothing.
    assert_eq!(
        store
            .get_integration(&account, &foreign.integration.id)
            .await
            .unwrap(),
        None
    );
    let names: Vec<String> = store
        .list_integrations(&account)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["first", "second"]);

    store
        .record_integration_use(&account, &first.integration.id, 1_000)
        .await
        .unwrap();
    let used = store
        .get_integration(&account, &first.integration.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.last_used_at, Some(1_000));

    assert!(store
        .delete_integration(&account, &first.integration.id)
        .await
        .unwrap());
    assert!(!store
        .delete_integration(&account, &first.integration.id)
        .await
        .unwrap());
    // A use recorded after the revocation does not bring it back.
    store
        .record_integration_use(&account, &first.integration.id, 2_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_integration(&account, &first.integration.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_integrations(&account).await.unwrap().len(), 1);
    assert_eq!(store.list_integrations(&other).await.unwrap().len(), 1);
}
