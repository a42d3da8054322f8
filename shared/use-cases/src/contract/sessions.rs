//! Session steps: notice, CSAT request and capacity in one step, or nothing (R21).

use super::*;

/// An online agent with capacity (messaging, email), holding one accepted conversation of
/// `account` on its messaging capacity; returns the agent and the assigned conversation.
async fn agent_with_assigned_conversation(
    store: &Arc<dyn Store>,
    account: &str,
    capacity: (u32, u32),
) -> (Agent, Conversation) {
    let agent_id = super::routing::agent(store, account, capacity, AgentStatus::Online).await;
    let c = hand_off(&conversation(account, "alice", 2), None, 3).unwrap();
    store.create_conversation(&c).await.unwrap();
    let waiting = WaitingEntry::for_conversation(&c);
    store.put_waiting(&waiting).await.unwrap();
    let offer = Offer {
        account_id: account.into(),
        conversation_id: c.id.clone(),
        agent_id: agent_id.clone(),
        offer_id: new_id("o"),
        channel: CapacityChannel::Messaging,
        offered_at: 4,
        expires_at: i64::MAX,
    };
    let offered = with_offer(&c, &offer, 4);
    store.make_offer(&offered, &offer, &waiting).await.unwrap();
    let assigned = with_assignment(&offered, 5).unwrap();
    store.accept_offer(&assigned, &offer).await.unwrap();
    let agent = store.get_agent(account, &agent_id).await.unwrap().unwrap();
    assert_eq!(agent.load_messaging, 1);
    (agent, assigned)
}

fn ending_settings(routing: EndedSessionRouting) -> Settings {
    let mut settings = Settings::default();
    settings.messaging.ended_session_routing = routing;
    settings.messaging.csat_on_session_end = true;
    settings
}

pub async fn session_end_writes_notice_csat_and_capacity_in_one_step_once(store: Arc<dyn Store>) {
    let account = fresh_account();
    let (agent, assigned) = agent_with_assigned_conversation(&store, &account, (2, 1)).await;
    for text in ["hi", "help"] {
        created(
            store
                .append_message(&message(&assigned, "alice", text, text))
                .await
                .unwrap(),
        );
    }
    let settings = ending_settings(EndedSessionRouting::Email);
    let change = end_session(&assigned, &settings, Some(&agent), &agent.id, 6)
        .unwrap()
        .unwrap();
    let notice = store.commit_session_change(&change).await.unwrap().unwrap();
    // The notice takes the next sequence number.
    assert_eq!(notice.seq, 3);
    assert_eq!(
        store
            .list_messages(&account, &assigned.id, 0, 10)
            .await
            .unwrap()
            .last(),
        Some(&notice)
    );
    let stored = store
        .get_conversation(&account, &assigned.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, change.conversation);
    let agent_after = store.get_agent(&account, &agent.id).await.unwrap().unwrap();
    assert_eq!((agent_after.load_messaging, agent_after.load_email), (0, 1));
    let csat = store.list_csat_requests(&account, 10).await.unwrap();
    assert_eq!(csat, vec![change.csat.clone().unwrap()]);
    // The same step again (a retry racing the first) changes nothing.
    assert!(matches!(
        store.commit_session_change(&change).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.list_csat_requests(&account, 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .list_messages(&account, &assigned.id, 0, 10)
            .await
            .unwrap()
            .len(),
        3
    );
    let agent_again = store.get_agent(&account, &agent.id).await.unwrap().unwrap();
    assert_eq!(agent_again, agent_after);
}

pub async fn session_change_whose_capacity_condition_fails_writes_nothing(store: Arc<dyn Store>) {
    let account = fresh_account();
    let (agent, assigned) = agent_with_assigned_conversation(&store, &account, (2, 1)).await;
    let mut change = end_session(
        &assigned,
        &ending_settings(EndedSessionRouting::Email),
        Some(&agent),
        &agent.id,
        6,
    )
    .unwrap()
    .unwrap();
    // Someone took the last email slot since the agent was read.
    store
        .update_agent_profile(
            &account,
            &agent.id,
            &AgentProfileChange {
                capacity: Some((2, 0)),
                ..AgentProfileChange::default()
            },
            7,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.commit_session_change(&change).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .get_conversation(&account, &assigned.id)
            .await
            .unwrap(),
        Some(assigned.clone())
    );
    assert!(store
        .list_messages(&account, &assigned.id, 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_csat_requests(&account, 10)
        .await
        .unwrap()
        .is_empty());
    let unchanged = store.get_agent(&account, &agent.id).await.unwrap().unwrap();
    assert_eq!((unchanged.load_messaging, unchanged.load_email), (1, 0));
    // Releasing instead (what the rule decides once it sees the full email capacity) works.
    change.capacity = Some(CapacityRelease {
        agent_id: agent.id.clone(),
        from: CapacityChannel::Messaging,
        to: None,
    });
    change.conversation.held_capacity = None;
    store.commit_session_change(&change).await.unwrap();
    let released = store.get_agent(&account, &agent.id).await.unwrap().unwrap();
    assert_eq!((released.load_messaging, released.load_email), (0, 0));
    // CSAT requests are kept per account.
    assert!(store
        .list_csat_requests(&fresh_account(), 10)
        .await
        .unwrap()
        .is_empty());
}
