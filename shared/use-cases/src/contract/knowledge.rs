//! The knowledge base's store: articles change with the base's version or not at all, and are
//! listed per account.

use std::sync::Arc;

use super::fresh_account;
use crate::ports::Store;
use crate::StoreError;
use domain::knowledge::{Article, KnowledgeBase};
use domain::locale::Locale;

fn article(account: &str, id: &str, published: bool) -> Article {
    Article {
        account_id: account.into(),
        id: id.into(),
        title: format!("Title of {id}"),
        body: "Body with **markdown** and é".into(),
        locale: Locale::Fr,
        labels: vec!["billing".into()],
        published,
        created_at: 1,
        updated_at: 1,
        revision: 1,
    }
}

pub async fn articles_change_with_their_base_or_not_at_all(store: Arc<dyn Store>) {
    let account = fresh_account();
    assert_eq!(
        store.knowledge_base(&account).await.unwrap(),
        KnowledgeBase::default()
    );
    let first = article(&account, "art_1", true);
    let base = KnowledgeBase::default().after(None, Some(&first));
    store
        .change_article(&account, &base, None, Some(&first))
        .await
        .unwrap();
    // A change made from the old base (another admin's, in between) is refused whole.
    let second = article(&account, "art_2", false);
    let stale = KnowledgeBase::default().after(None, Some(&second));
    let refused = store
        .change_article(&account, &stale, None, Some(&second))
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(store.get_article(&account, "art_2").await.unwrap(), None);
    let base = base.after(None, Some(&second));
    store
        .change_article(&account, &base, None, Some(&second))
        .await
        .unwrap();
    assert_eq!(
        store.knowledge_base(&account).await.unwrap(),
        KnowledgeBase {
            version: 2,
            articles: 2,
            published: 1
        }
    );
    let mut edited = first.clone();
    edited.published = false;
    edited.revision = 2;
    let base = base.after(Some(&first), Some(&edited));
    store
        .change_article(&account, &base, Some(&first), Some(&edited))
        .await
        .unwrap();
    assert_eq!(
        store.get_article(&account, "art_1").await.unwrap(),
        Some(edited.clone())
    );
    assert_eq!(store.knowledge_base(&account).await.unwrap().published, 0);
    let listed = store.list_articles(&account).await.unwrap();
    assert_eq!(listed, vec![edited.clone(), second.clone()]);
    let base = base.after(Some(&edited), None);
    store
        .change_article(&account, &base, Some(&edited), None)
        .await
        .unwrap();
    assert_eq!(store.get_article(&account, "art_1").await.unwrap(), None);
    assert_eq!(store.list_articles(&account).await.unwrap(), vec![second]);
    assert_eq!(store.knowledge_base(&account).await.unwrap().articles, 1);
    // Another account has none of it.
    assert!(store
        .list_articles(&fresh_account())
        .await
        .unwrap()
        .is_empty());
}
