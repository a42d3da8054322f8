//! Connections (who is listening, to what) and the change feed the fan-out reads (R27).

use std::time::Duration;

use super::*;
use crate::ports::{ChangeFeed, Connection};
use domain::model::Role;
use domain::realtime::{Listener, PushCursor, Stored, StoredChange};

fn listener(account_id: &str, user_id: &str, role: Role) -> Listener {
    Listener {
        account_id: account_id.into(),
        user_id: user_id.into(),
        role,
    }
}

fn connection(listener: &Listener) -> Connection {
    let now = domain::now_ms();
    Connection {
        id: new_id("conn"),
        listener: listener.clone(),
        connected_at: now,
        expires_at: now / 1000 + 3_600,
    }
}

fn ids(connections: Vec<Connection>) -> Vec<String> {
    let mut ids: Vec<String> = connections.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

pub async fn connections_are_found_by_id_and_listener_until_removed(store: Arc<dyn Store>) {
    let account = fresh_account();
    let agent = listener(&account, "ag-1", Role::Agent);
    let (first, second) = (connection(&agent), connection(&agent));
    assert!(store.add_connection(&first, 10).await.unwrap());
    assert!(store.add_connection(&second, 10).await.unwrap());
    assert_eq!(
        store.get_connection(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        ids(store.connections_of(&agent).await.unwrap()),
        sorted(vec![first.id.clone(), second.id.clone()])
    );
    // An admin with the same id is the same staff listener; an end user with it is not.
    let admin = listener(&account, "ag-1", Role::Admin);
    assert_eq!(store.connections_of(&admin).await.unwrap().len(), 2);
    let end_user = listener(&account, "ag-1", Role::EndUser);
    assert!(store.connections_of(&end_user).await.unwrap().is_empty());
    let elsewhere = listener(&fresh_account(), "ag-1", Role::Agent);
    assert!(store.connections_of(&elsewhere).await.unwrap().is_empty());

    store.remove_connection(&first.id).await.unwrap();
    assert_eq!(store.get_connection(&first.id).await.unwrap(), None);
    assert_eq!(
        ids(store.connections_of(&agent).await.unwrap()),
        vec![second.id.clone()]
    );
    // Removing twice is not an error ($disconnect after a failed push removed it).
    store.remove_connection(&first.id).await.unwrap();
}

pub async fn subscribers_are_listed_until_unsubscribed_or_disconnected(store: Arc<dyn Store>) {
    let account = fresh_account();
    let (a, b) = (
        connection(&listener(&account, "ag-1", Role::Agent)),
        connection(&listener(&account, "ag-2", Role::Agent)),
    );
    for c in [&a, &b] {
        assert!(store.add_connection(c, 10).await.unwrap());
        store.subscribe(c, "c1").await.unwrap();
    }
    store.subscribe(&a, "c2").await.unwrap();
    assert_eq!(
        ids(store.subscribers_of(&account, "c1").await.unwrap()),
        sorted(vec![a.id.clone(), b.id.clone()])
    );
    assert!(store
        .subscribers_of(&fresh_account(), "c1")
        .await
        .unwrap()
        .is_empty());
    store.unsubscribe(&b, "c1").await.unwrap();
    assert_eq!(
        ids(store.subscribers_of(&account, "c1").await.unwrap()),
        vec![a.id.clone()]
    );
    store.remove_connection(&a.id).await.unwrap();
    assert!(store
        .subscribers_of(&account, "c1")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .subscribers_of(&account, "c2")
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_push_cursor_only_moves_up_and_is_kept_per_conversation(store: Arc<dyn Store>) {
    let (account, other) = (fresh_account(), fresh_account());
    let cursor = |through_seq, heard| PushCursor { through_seq, heard };
    let read = |account: String, cid: &'static str| {
        let store = store.clone();
        async move { store.push_cursor(&account, cid).await.unwrap() }
    };
    assert_eq!(
        read(account.clone(), "c-1").await,
        PushCursor::default(),
        "none yet"
    );
    store
        .advance_push_cursor(&account, "c-1", 3, true)
        .await
        .unwrap();
    assert_eq!(read(account.clone(), "c-1").await, cursor(3, true));
    // A late report of an earlier or the same push (a writer slower than the fan-out)
    // changes nothing.
    store
        .advance_push_cursor(&account, "c-1", 2, false)
        .await
        .unwrap();
    store
        .advance_push_cursor(&account, "c-1", 3, false)
        .await
        .unwrap();
    assert_eq!(read(account.clone(), "c-1").await, cursor(3, true));
    store
        .advance_push_cursor(&account, "c-1", 7, false)
        .await
        .unwrap();
    assert_eq!(read(account.clone(), "c-1").await, cursor(7, false));
    // Another conversation, or the same id in another account, has its own.
    assert_eq!(read(account, "c-2").await, PushCursor::default());
    assert_eq!(read(other, "c-1").await, PushCursor::default());
}

pub async fn an_account_at_its_connection_limit_is_refused_the_next(store: Arc<dyn Store>) {
    let account = fresh_account();
    let user = listener(&account, "eu-1", Role::EndUser);
    for _ in 0..3 {
        assert!(store.add_connection(&connection(&user), 3).await.unwrap());
    }
    let refused = connection(&user);
    assert!(!store.add_connection(&refused, 3).await.unwrap());
    assert_eq!(store.get_connection(&refused.id).await.unwrap(), None);
    assert_eq!(store.connections_of(&user).await.unwrap().len(), 3);
    // Another account's limit is its own.
    let other = listener(&fresh_account(), "eu-1", Role::EndUser);
    assert!(store.add_connection(&connection(&other), 3).await.unwrap());
}

pub async fn expired_connections_are_neither_found_nor_counted(store: Arc<dyn Store>) {
    let account = fresh_account();
    let user = listener(&account, "eu-1", Role::EndUser);
    let mut expired = connection(&user);
    expired.expires_at = domain::now_ms() / 1000 - 1;
    assert!(store.add_connection(&expired, 1).await.unwrap());
    assert_eq!(store.get_connection(&expired.id).await.unwrap(), None);
    assert!(store.connections_of(&user).await.unwrap().is_empty());
    assert!(store.add_connection(&connection(&user), 1).await.unwrap());
}

/// A store and the change feed of its writes.
pub struct FeedUnderTest {
    pub store: Arc<dyn Store>,
    pub feed: Arc<dyn ChangeFeed>,
}

/// The changes of `account` the feed reports within a few seconds, until `count` are seen.
async fn changes_of(feed: &dyn ChangeFeed, account: &str, count: usize) -> Vec<StoredChange> {
    let account_of = |stored: &Option<Stored>| match stored {
        Some(Stored::Conversation(c)) => Some(c.account_id.clone()),
        Some(Stored::Message(m)) => Some(m.account_id.clone()),
        Some(Stored::Rating(r)) => Some(r.account_id.clone()),
        None => None,
    };
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < count && std::time::Instant::now() < deadline {
        for change in feed.next_changes(Duration::from_millis(500)).await.unwrap() {
            let of = account_of(&change.after).or_else(|| account_of(&change.before));
            if of.as_deref() == Some(account) {
                seen.push(change);
            }
        }
    }
    seen
}

pub async fn feed_reports_conversation_and_message_writes_in_order_with_both_images(
    under_test: FeedUnderTest,
) {
    let FeedUnderTest { store, feed } = under_test;
    let account = fresh_account();
    let c = conversation(&account, "eu-1", 1);
    store.create_conversation(&c).await.unwrap();
    let m = created(
        store
            .append_message(&message(&c, "eu-1", "cm-1", "hello"))
            .await
            .unwrap(),
    );
    let handed = hand_off(&c, Some("question".into()), 2).expect("bot had control");
    store.update_conversation(&handed).await.unwrap();

    let changes = changes_of(feed.as_ref(), &account, 3).await;
    assert_eq!(changes.len(), 3, "{changes:#?}");
    assert_eq!(
        changes[0],
        StoredChange {
            before: None,
            after: Some(Stored::Conversation(Box::new(c.clone()))),
        }
    );
    assert_eq!(
        changes[1],
        StoredChange {
            before: None,
            after: Some(Stored::Message(Box::new(m))),
        }
    );
    assert_eq!(
        changes[2],
        StoredChange {
            before: Some(Stored::Conversation(Box::new(c))),
            after: Some(Stored::Conversation(Box::new(handed))),
        }
    );
}

pub async fn feed_reports_a_redaction_with_the_message_before_and_after(under_test: FeedUnderTest) {
    let FeedUnderTest { store, feed } = under_test;
    let account = fresh_account();
    let c = conversation(&account, "eu-1", 1);
    store.create_conversation(&c).await.unwrap();
    let m = created(
        store
            .append_message(&message(&c, "eu-1", "cm-1", "my card is 4111…"))
            .await
            .unwrap(),
    );
    let tombstone = domain::rules::redacted(
        &m,
        domain::model::Redaction {
            reason: domain::model::RedactionReason::Redacted,
            by: "ag-1".into(),
            at: 5,
        },
    );
    assert!(store.store_redaction(&tombstone).await.unwrap());
    let changes = changes_of(feed.as_ref(), &account, 3).await;
    assert_eq!(changes.len(), 3, "{changes:#?}");
    assert_eq!(
        changes[2],
        StoredChange {
            before: Some(Stored::Message(Box::new(m))),
            after: Some(Stored::Message(Box::new(tombstone))),
        }
    );
}

pub async fn feed_reports_no_other_items(under_test: FeedUnderTest) {
    let FeedUnderTest { store, feed } = under_test;
    let account = fresh_account();
    // Connections, accounts and settings are written to the same table; none is a change.
    let user = listener(&account, "eu-1", Role::EndUser);
    assert!(store.add_connection(&connection(&user), 10).await.unwrap());
    store
        .put_account(&Account {
            id: account.clone(),
            name: "n".into(),
            capabilities: vec![],
            created_at: 1,
            messaging_enabled_at: None,
            widget_key: None,
        })
        .await
        .unwrap();
    let c = conversation(&account, "eu-1", 1);
    store.create_conversation(&c).await.unwrap();
    let changes = changes_of(feed.as_ref(), &account, 1).await;
    assert_eq!(changes.len(), 1);
    assert!(matches!(changes[0].after, Some(Stored::Conversation(_))));
}
