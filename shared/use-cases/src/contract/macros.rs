//! Macros' store: each change moves the account's book once and appends its audit entry.

use std::sync::Arc;

use super::fresh_account;
use crate::ports::Store;
use crate::StoreError;
use domain::macros::{Macro, MacroActions, MacroBook};
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

/// Writes one change as the use case does: the book as read, moved by the change.
async fn change(
    store: &dyn Store,
    book: &MacroBook,
    sides: (Option<&Macro>, Option<&Macro>),
) -> Result<MacroBook, StoreError> {
    let (next, audit) = book.after(sides, "boss", 5).unwrap();
    store.change_macro(&next, sides, &audit).await?;
    Ok(next)
}

pub async fn macro_changes_move_the_book_once_and_chain_their_audit(store: Arc<dyn Store>) {
    let account = fresh_account();
    let empty = store.macro_book(&account).await.unwrap();
    assert_eq!(empty, MacroBook::default());
    let shared = a_macro(&account, "mac_1", None);
    let book = change(store.as_ref(), &empty, (None, Some(&shared)))
        .await
        .unwrap();
    // The same change again, from the book it was made on, is refused: nothing is written.
    let again = change(store.as_ref(), &empty, (None, Some(&shared))).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let personal = a_macro(&account, "mac_2", Some("ana"));
    let book = change(store.as_ref(), &book, (None, Some(&personal)))
        .await
        .unwrap();
    let mut changed = shared.clone();
    changed.text = "Hello".into();
    changed.revision = 2;
    let book = change(store.as_ref(), &book, (Some(&shared), Some(&changed)))
        .await
        .unwrap();
    assert_eq!(
        store.get_macro(&account, "mac_1").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        store.list_macros(&account).await.unwrap(),
        vec![changed.clone(), personal.clone()]
    );
    let book = change(store.as_ref(), &book, (Some(&changed), None))
        .await
        .unwrap();
    assert_eq!(store.list_macros(&account).await.unwrap(), vec![personal]);
    let stored = store.macro_book(&account).await.unwrap();
    assert_eq!(stored, book);
    assert_eq!((stored.version, stored.count), (4, 1));
    // Four entries, chained, oldest first; pages follow the version.
    let audit = store.list_macro_audit(&account, 0, 10).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(domain::settings::verify_chain(&audit), Ok(()));
    assert_eq!(
        audit[3].changes["macros.mac_1"].after,
        serde_json::Value::Null
    );
    assert_eq!(audit[2].changes["macros.mac_1"].after["text"], "Hello");
    let page = store.list_macro_audit(&account, 2, 1).await.unwrap();
    assert_eq!(page.iter().map(|e| e.version).collect::<Vec<_>>(), vec![3]);
    assert!(store
        .list_macros(&fresh_account())
        .await
        .unwrap()
        .is_empty());
}
