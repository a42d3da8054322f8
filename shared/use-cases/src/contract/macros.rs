//! Macros' store: created once, changed one revision at a time, listed per account, deleted.

use std::sync::Arc;

use super::fresh_account;
use crate::ports::Store;
use crate::StoreError;
use domain::macros::{Macro, MacroActions};
use domain::model::Priority;

fn a_macro(account: &str, id: &str, owner: Option<&str>) -> Macro {
    Macro {
        account_id: account.into(),
        id: id.into(),
        owner_id: owner.map(str::to_string),
        title: format!("Macro {id}"),
        text: "Hi {{end_user.name}}, é".into(),
        actions: MacroActions {
            priority: Some(Priority::High),
            group: Some("billing".into()),
            tags_add: vec!["refund".into()],
            end_session: true,
        },
        created_by: "boss".into(),
        created_at: 1,
        updated_at: 1,
        revision: 1,
    }
}

pub async fn macros_are_created_once_and_change_one_revision_at_a_time(store: Arc<dyn Store>) {
    let account = fresh_account();
    let shared = a_macro(&account, "mac_1", None);
    store.put_macro(&shared).await.unwrap();
    let again = store.put_macro(&shared).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let personal = a_macro(&account, "mac_2", Some("ana"));
    store.put_macro(&personal).await.unwrap();
    let mut changed = shared.clone();
    changed.text = "Hello".into();
    changed.revision = 2;
    store.put_macro(&changed).await.unwrap();
    // A change made from revision 1 (another writer's, in between) is refused.
    let mut stale = shared.clone();
    stale.title = "Stale".into();
    stale.revision = 2;
    let refused = store.put_macro(&stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(
        store.get_macro(&account, "mac_1").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        store.list_macros(&account).await.unwrap(),
        vec![changed, personal.clone()]
    );
    assert!(store.delete_macro(&account, "mac_1").await.unwrap());
    assert!(!store.delete_macro(&account, "mac_1").await.unwrap());
    assert_eq!(store.list_macros(&account).await.unwrap(), vec![personal]);
    assert!(store
        .list_macros(&fresh_account())
        .await
        .unwrap()
        .is_empty());
}
