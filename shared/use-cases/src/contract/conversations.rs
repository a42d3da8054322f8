//! Conversations: round trip, listing per owner, optimistic replace, live-chat listing (R3, R12).

use super::*;

pub async fn conversation_round_trip_and_duplicate_create_refused(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    assert_eq!(
        store.get_conversation(&c.account_id, &c.id).await.unwrap(),
        Some(c.clone())
    );
    assert!(matches!(
        store.create_conversation(&c).await,
        Err(StoreError::AlreadyExists)
    ));
    // Another account never sees it.
    assert_eq!(
        store
            .get_conversation(&fresh_account(), &c.id)
            .await
            .unwrap(),
        None
    );
}

pub async fn conversations_listed_newest_first_for_their_owner_only(store: Arc<dyn Store>) {
    let account = fresh_account();
    let older = conversation(&account, "alice", 100);
    let newer = conversation(&account, "alice", 200);
    let bobs = conversation(&account, "bob", 300);
    for c in [&older, &newer, &bobs] {
        store.create_conversation(c).await.unwrap();
    }
    let expected = vec![newer.id.clone(), older.id.clone()];
    let ids: Vec<String> = eventually(
        || async {
            store
                .list_conversations_for_user(&account, "alice", 10)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<String>>()
        },
        |ids| *ids == expected,
    )
    .await;
    assert_eq!(ids, expected);
    let first = store
        .list_conversations_for_user(&account, "alice", 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, newer.id);
}

pub async fn stale_conversation_update_conflicts_and_changes_nothing(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let mut first = c.clone();
    first.priority = domain::model::Priority::High;
    first.revision += 1;
    store.update_conversation(&first).await.unwrap();
    let mut stale = c.clone();
    stale.priority = domain::model::Priority::Urgent;
    stale.revision += 1;
    assert!(matches!(
        store.update_conversation(&stale).await,
        Err(StoreError::Conflict)
    ));
    let stored = store
        .get_conversation(&c.account_id, &c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.priority, domain::model::Priority::High);
    assert_eq!(stored.revision, 1);
}

pub async fn active_live_chats_are_listed_until_ended(store: Arc<dyn Store>) {
    let account = fresh_account();
    let mut chat_settings = Settings::default();
    chat_settings.messaging.enabled = false;
    let live = new_conversation(&account, "alice", &chat_settings, 5);
    let messaging = conversation(&account, "bob", 6);
    store.create_conversation(&live).await.unwrap();
    store.create_conversation(&messaging).await.unwrap();
    let live_ids = || async {
        store
            .list_active_live_chats(&account, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<String>>()
    };
    let listed = eventually(live_ids, |ids| *ids == vec![live.id.clone()]).await;
    assert_eq!(listed, vec![live.id.clone()]);
    let ended =
        domain::sessions::end_live_chat(&live, None, domain::locale::Locale::En, 7).unwrap();
    store.commit_session_change(&ended).await.unwrap();
    assert!(eventually(live_ids, |ids| ids.is_empty()).await.is_empty());
    assert!(store
        .list_active_live_chats(&fresh_account(), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn expiry_is_set_and_removed_only_at_the_revision_read(store: Arc<dyn Store>) {
    let c = conversation(&fresh_account(), "alice", 10);
    store.create_conversation(&c).await.unwrap();
    let read = |store: Arc<dyn Store>, c: Conversation| async move {
        store
            .get_conversation(&c.account_id, &c.id)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(store
        .set_expiry(&c.account_id, &c.id, c.revision, Some(1_800_000_000))
        .await
        .unwrap());
    let stamped = read(store.clone(), c.clone()).await;
    assert_eq!(stamped.expires_at, Some(1_800_000_000));
    // Nobody else sees a change: the revision stays where it was.
    assert_eq!(stamped.revision, c.revision);
    // A writer holding an older read is refused, and nothing changes.
    assert!(!store
        .set_expiry(&c.account_id, &c.id, c.revision + 1, None)
        .await
        .unwrap());
    assert_eq!(
        read(store.clone(), c.clone()).await.expires_at,
        Some(1_800_000_000)
    );
    assert!(store
        .set_expiry(&c.account_id, &c.id, c.revision, None)
        .await
        .unwrap());
    assert_eq!(read(store.clone(), c.clone()).await.expires_at, None);
    // A conversation that is not there is not created by it.
    assert!(!store
        .set_expiry(&c.account_id, "c_gone", 0, Some(1))
        .await
        .unwrap());
    assert_eq!(
        store
            .get_conversation(&c.account_id, "c_gone")
            .await
            .unwrap(),
        None
    );
}

/// #32 item 5: a write that brings a conversation at rest back to life takes its expiry away
/// in that same write, even when the writer copied the old `expires_at` along; a write that
/// leaves it at rest keeps it.
pub async fn a_write_that_revives_a_conversation_takes_its_expiry_away(store: Arc<dyn Store>) {
    let mut c = conversation(&fresh_account(), "alice", 10);
    c.session = domain::model::SessionState::Ended;
    store.create_conversation(&c).await.unwrap();
    assert!(store
        .set_expiry(&c.account_id, &c.id, c.revision, Some(1_000))
        .await
        .unwrap());
    let read = |store: Arc<dyn Store>, c: Conversation| async move {
        store
            .get_conversation(&c.account_id, &c.id)
            .await
            .unwrap()
            .unwrap()
    };
    // Still at rest: the expiry stays.
    let mut at_rest = read(store.clone(), c.clone()).await;
    assert_eq!(at_rest.expires_at, Some(1_000));
    at_rest.revision += 1;
    at_rest.tags.push("vip".into());
    store.update_conversation(&at_rest).await.unwrap();
    assert_eq!(read(store.clone(), c.clone()).await.expires_at, Some(1_000));
    // A new session: the copied expiry is not stored.
    let mut revived = read(store.clone(), c.clone()).await;
    revived.revision += 1;
    revived.session = domain::model::SessionState::Active;
    revived.session_no += 1;
    assert_eq!(
        revived.expires_at,
        Some(1_000),
        "the writer copied it along"
    );
    store.update_conversation(&revived).await.unwrap();
    let stored = read(store.clone(), c.clone()).await;
    assert_eq!(stored.session, domain::model::SessionState::Active);
    assert_eq!(stored.expires_at, None);
}
