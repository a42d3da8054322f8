//! Messages: consecutive seqs, cursors, idempotent replays, races (R13, R14).

use super::*;

pub async fn appended_messages_get_consecutive_seqs_and_page_by_cursor(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    assert_eq!(store.last_seq(&c.account_id, &c.id).await.unwrap(), 0);
    for i in 1..=5u64 {
        let m = created(
            store
                .append_message(&message(&c, "alice", &format!("cm{i}"), &format!("t{i}")))
                .await
                .unwrap(),
        );
        assert_eq!(m.seq, i);
    }
    assert_eq!(store.last_seq(&c.account_id, &c.id).await.unwrap(), 5);
    let page = store
        .list_messages(&c.account_id, &c.id, 1, 2)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(page[0].text.as_deref(), Some("t2"));
    let rest = store
        .list_messages(&c.account_id, &c.id, 3, 100)
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert!(store
        .list_messages(&c.account_id, &c.id, 5, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn replayed_client_message_id_returns_original(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let original = created(
        store
            .append_message(&message(&c, "alice", "dup", "hello"))
            .await
            .unwrap(),
    );
    let replay = store
        .append_message(&message(&c, "alice", "dup", "something else"))
        .await
        .unwrap();
    assert_eq!(replay, AppendOutcome::Existing(original.clone()));
    assert_eq!(
        store
            .find_message(&c.account_id, &c.id, "alice", "dup")
            .await
            .unwrap(),
        Some(original.clone())
    );
    assert_eq!(
        store
            .find_message(&c.account_id, &c.id, "bob", "dup")
            .await
            .unwrap(),
        None
    );
    // The same key used by another author is a different message.
    let other = created(
        store
            .append_message(&message(&c, "agent-1", "dup", "hi"))
            .await
            .unwrap(),
    );
    assert_eq!(other.seq, original.seq + 1);
    assert_eq!(
        store
            .list_messages(&c.account_id, &c.id, 0, 100)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn concurrent_appends_get_unique_gap_free_seqs(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let m = message(&c, "alice", &format!("p{i}"), &format!("parallel {i}"));
            tokio::spawn(async move { created(store.append_message(&m).await.unwrap()).seq })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    let stored = store
        .list_messages(&c.account_id, &c.id, 0, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), 20);
}

pub async fn concurrent_replays_of_one_client_message_id_store_one_message(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let m = message(&c, "alice", "same", "once");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let m = m.clone();
            tokio::spawn(async move { store.append_message(&m).await.unwrap() })
        })
        .collect();
    let mut created_count = 0;
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        match task.await.unwrap() {
            AppendOutcome::Created(m) => {
                created_count += 1;
                ids.insert(m.id);
            }
            AppendOutcome::Existing(m) => {
                ids.insert(m.id);
            }
        }
    }
    assert_eq!(created_count, 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(
        store
            .list_messages(&c.account_id, &c.id, 0, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A cursor past anything stored (a client's typo, a fuzzer) reads nothing: never an error.
pub async fn cursors_beyond_every_item_list_nothing(store: Arc<dyn Store>) {
    let account = fresh_account();
    let c = conversation(&account, "alice", 1);
    store.create_conversation(&c).await.unwrap();
    store
        .append_message(&message(&c, "alice", "m1", "hello"))
        .await
        .unwrap();
    for after in [
        1,
        999_999_999_998,
        999_999_999_999,
        9_999_999_999_998,
        u64::MAX,
    ] {
        assert_eq!(
            store
                .list_messages(&account, &c.id, after, 10)
                .await
                .unwrap(),
            vec![],
            "after_seq {after}"
        );
    }
    for after in [9_999_999_999_998, u64::MAX] {
        assert_eq!(store.list_audit(&account, after, 10).await.unwrap(), vec![]);
    }
}

pub async fn a_message_is_redacted_once_keeping_its_seq(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    for i in 1..=2u64 {
        store
            .append_message(&message(&c, "alice", &format!("cm{i}"), &format!("t{i}")))
            .await
            .unwrap();
    }
    let original = store
        .list_messages(&c.account_id, &c.id, 0, 1)
        .await
        .unwrap()[0]
        .clone();
    let redaction = domain::model::Redaction {
        reason: domain::model::RedactionReason::Redacted,
        by: "ag-1".into(),
        at: 99,
    };
    let tombstone = domain::rules::redacted(&original, redaction.clone());
    assert!(store.store_redaction(&tombstone).await.unwrap());
    let listed = store
        .list_messages(&c.account_id, &c.id, 0, 10)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(listed[0], tombstone);
    assert_eq!(listed[0].text, None);
    assert_eq!(
        listed[1].text.as_deref(),
        Some("t2"),
        "the others are untouched"
    );
    // Once only: a second redaction (another staff member, later) changes nothing.
    let mut again = tombstone.clone();
    again.redacted = Some(domain::model::Redaction {
        by: "ag-2".into(),
        at: 100,
        ..redaction
    });
    assert!(!store.store_redaction(&again).await.unwrap());
    assert_eq!(
        store
            .list_messages(&c.account_id, &c.id, 0, 1)
            .await
            .unwrap()[0],
        tombstone
    );
    // No message at that seq: nothing is created.
    let mut nowhere = tombstone.clone();
    nowhere.seq = 7;
    assert!(!store.store_redaction(&nowhere).await.unwrap());
    assert_eq!(store.last_seq(&c.account_id, &c.id).await.unwrap(), 2);
}

/// R32: an item DynamoDB would refuse (over 400 KB) is refused by every store, the in-memory
/// one too, with nothing written; one well under it is stored (positive control).
pub async fn an_item_over_400_kb_is_refused_and_nothing_is_written(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let big = message(&c, "alice", "cm-big", &"é".repeat(210_000));
    assert!(
        matches!(
            store.append_message(&big).await,
            Err(StoreError::TooLarge(_))
        ),
        "a 420 KB message is refused"
    );
    assert_eq!(store.last_seq(&c.account_id, &c.id).await.unwrap(), 0);
    assert!(store
        .list_messages(&c.account_id, &c.id, 0, 10)
        .await
        .unwrap()
        .is_empty());
    let fits = message(&c, "alice", "cm-fits", &"é".repeat(50_000));
    assert_eq!(created(store.append_message(&fits).await.unwrap()).seq, 1);
}
