//! The routing part of the contract (R23-R25): an agent's load never exceeds its capacity,
//! however many offers race for it; a refused offer writes nothing; a withdrawn offer gives
//! the slot back and the conversation its place in the waiting list.

use std::sync::Arc;

use crate::ports::Store;
use crate::StoreError;
use domain::ids::new_id;
use domain::model::{Conversation, Priority};
use domain::routing::{
    with_offer, without_offer, AgentProfileChange, AgentStatus, CapacityChannel, Offer,
    WaitingEntry,
};
use domain::rules::hand_off;

use super::{conversation, fresh_account};

/// An agent of `account` with `capacity` (messaging, email) and `status`.
pub(super) async fn agent(
    store: &Arc<dyn Store>,
    account: &str,
    capacity: (u32, u32),
    status: AgentStatus,
) -> String {
    let agent_id = new_id("agent");
    store
        .update_agent_profile(
            account,
            &agent_id,
            &AgentProfileChange {
                status: Some(status),
                capacity: Some(capacity),
                groups: None,
            },
            1,
        )
        .await
        .expect("create the agent");
    agent_id
}

/// A conversation handed off and waiting, created at `at`, with `priority`.
async fn waiting(
    store: &Arc<dyn Store>,
    account: &str,
    at: i64,
    priority: Priority,
) -> (Conversation, WaitingEntry) {
    let mut c = hand_off(&conversation(account, "alice", at), None, at).expect("hand off");
    c.priority = priority;
    store.create_conversation(&c).await.expect("create");
    let entry = WaitingEntry::for_conversation(&c);
    store.put_waiting(&entry).await.expect("wait");
    (c, entry)
}

/// The agent's load on its messaging capacity, as stored.
async fn messaging_load(store: &Arc<dyn Store>, account: &str, agent_id: &str) -> u32 {
    store
        .get_agent(account, agent_id)
        .await
        .expect("read the agent")
        .expect("the agent exists")
        .load_messaging
}

fn offer_of(c: &Conversation, agent_id: &str) -> Offer {
    Offer {
        account_id: c.account_id.clone(),
        conversation_id: c.id.clone(),
        agent_id: agent_id.into(),
        offer_id: new_id("o"),
        channel: CapacityChannel::Messaging,
        offered_at: 50,
        expires_at: i64::MAX,
    }
}

pub async fn concurrent_offers_never_take_an_agent_beyond_its_capacity(store: Arc<dyn Store>) {
    let account = fresh_account();
    let agent_id = agent(&store, &account, (2, 0), AgentStatus::Online).await;
    let mut candidates = Vec::new();
    for at in 0..6 {
        candidates.push(waiting(&store, &account, 10 + at, Priority::Normal).await);
    }
    let attempts = candidates.iter().map(|(c, entry)| {
        let store = store.clone();
        let offer = offer_of(c, &agent_id);
        let offered = with_offer(c, &offer, 50);
        let entry = entry.clone();
        tokio::spawn(async move { store.make_offer(&offered, &offer, &entry).await })
    });
    let mut results = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        results.push(attempt.await.expect("offer task"));
    }
    let made = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(made, 2, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict))),
        "a refused offer is a conflict: {results:?}"
    );
    assert_eq!(messaging_load(&store, &account, &agent_id).await, 2);
    let offers = store.list_offers(&account, &agent_id).await.unwrap();
    assert_eq!(offers.len(), 2);
    // The refused conversations are untouched and still waiting.
    let waiting_now = store.list_waiting(&account, 100).await.unwrap();
    assert_eq!(waiting_now.len(), 4);
    for (c, _) in &candidates {
        let stored = store
            .get_conversation(&account, &c.id)
            .await
            .unwrap()
            .unwrap();
        let offered = offers.iter().any(|o| o.conversation_id == c.id);
        assert_eq!(stored.offer.is_some(), offered, "{}", c.id);
        assert_eq!(
            waiting_now.iter().any(|w| w.conversation_id == c.id),
            !offered,
            "{}",
            c.id
        );
        if !offered {
            assert_eq!(
                stored.revision, c.revision,
                "a refused offer changed {}",
                c.id
            );
        }
    }
}

pub async fn offer_to_an_offline_agent_is_refused_and_writes_nothing(store: Arc<dyn Store>) {
    let account = fresh_account();
    let agent_id = agent(&store, &account, (3, 0), AgentStatus::Offline).await;
    let (c, entry) = waiting(&store, &account, 10, Priority::Normal).await;
    let offer = offer_of(&c, &agent_id);
    let result = store
        .make_offer(&with_offer(&c, &offer, 50), &offer, &entry)
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(messaging_load(&store, &account, &agent_id).await, 0);
    assert!(store
        .list_offers(&account, &agent_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_waiting(&account, 10).await.unwrap(), vec![entry]);
    let stored = store
        .get_conversation(&account, &c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, c);
}

pub async fn withdrawn_offer_frees_the_slot_and_the_conversation_waits_in_its_place(
    store: Arc<dyn Store>,
) {
    let account = fresh_account();
    let agent_id = agent(&store, &account, (1, 0), AgentStatus::Online).await;
    let (older, older_entry) = waiting(&store, &account, 10, Priority::Normal).await;
    let (_newer, _) = waiting(&store, &account, 20, Priority::Normal).await;
    let (_urgent, _) = waiting(&store, &account, 30, Priority::Urgent).await;
    let offer = offer_of(&older, &agent_id);
    let offered = with_offer(&older, &offer, 50);
    store
        .make_offer(&offered, &offer, &older_entry)
        .await
        .unwrap();
    assert_eq!(messaging_load(&store, &account, &agent_id).await, 1);

    let withdrawn = without_offer(&offered, 60);
    let back = WaitingEntry::for_conversation(&withdrawn);
    store
        .withdraw_offer(&withdrawn, &offer, &back)
        .await
        .unwrap();
    assert_eq!(messaging_load(&store, &account, &agent_id).await, 0);
    assert!(store
        .list_offers(&account, &agent_id)
        .await
        .unwrap()
        .is_empty());
    // Routing order: higher priority first, then the oldest; the withdrawn one kept its age.
    let order: Vec<i64> = store
        .list_waiting(&account, 10)
        .await
        .unwrap()
        .iter()
        .map(|w| w.since)
        .collect();
    assert_eq!(order, vec![30, 10, 20]);
    // Withdrawing again (a stale retry) conflicts and releases nothing twice.
    let again = store.withdraw_offer(&withdrawn, &offer, &back).await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(messaging_load(&store, &account, &agent_id).await, 0);
}
