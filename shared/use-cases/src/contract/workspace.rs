//! The agent workspace's storage: activity-ordered inbox views, the waiting list by group,
//! moving a waiting entry with its conversation, the ticket history.

use super::*;
use crate::ports::ActivityView;
use domain::model::{Priority, TicketStatus};
use domain::routing::WaitingEntry;
use domain::rules::hand_off;
use domain::workspace::{activity_key, HistoryEntry, ALL_VIEW_SHARDS};

fn ids(conversations: &[Conversation]) -> Vec<String> {
    conversations.iter().map(|c| c.id.clone()).collect()
}

pub async fn activity_views_list_newest_activity_first_and_page_by_cursor(store: Arc<dyn Store>) {
    let account = fresh_account();
    // Enough conversations that every shard of the `all` view holds some.
    let mut made = Vec::new();
    for i in 0..(3 * ALL_VIEW_SHARDS as i64) {
        let mut c = conversation(&account, &format!("eu-{i}"), 100 + i);
        if i % 3 == 0 {
            c.assignee = Some("ag-1".into());
            c.ticket_status = TicketStatus::Open;
        }
        store.create_conversation(&c).await.unwrap();
        made.push(c);
    }
    // A message in the oldest moves it to the top, and only forward.
    store
        .touch_activity(&account, &made[0].id, 10_000)
        .await
        .unwrap();
    store
        .touch_activity(&account, &made[0].id, 5_000)
        .await
        .unwrap();
    let touched = store
        .get_conversation(&account, &made[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_message_at, Some(10_000));
    assert_eq!(
        touched.revision,
        made[0].revision + 1,
        "a writer holding the old read must re-read"
    );
    // Touching a conversation that does not exist creates nothing.
    store.touch_activity(&account, "c_gone", 1).await.unwrap();
    assert_eq!(
        store.get_conversation(&account, "c_gone").await.unwrap(),
        None
    );

    let mut expected_all: Vec<Conversation> = made.clone();
    expected_all[0] = touched.clone();
    expected_all.sort_by_key(|c| std::cmp::Reverse(activity_key(c)));
    let all = eventually(
        || async {
            store
                .list_by_activity(&account, ActivityView::All, None, 100)
                .await
                .unwrap()
        },
        |page| ids(page) == ids(&expected_all),
    )
    .await;
    assert_eq!(ids(&all), ids(&expected_all));
    // Paging by the last key returns each once, in order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_by_activity(&account, ActivityView::All, cursor.as_deref(), 5)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(activity_key);
        paged.extend(page);
    }
    assert_eq!(ids(&paged), ids(&expected_all));

    let mine: Vec<_> = expected_all
        .iter()
        .filter(|c| c.assignee.as_deref() == Some("ag-1"))
        .cloned()
        .collect();
    let listed = eventually(
        || async {
            store
                .list_by_activity(&account, ActivityView::AssignedTo("ag-1"), None, 100)
                .await
                .unwrap()
        },
        |page| ids(page) == ids(&mine),
    )
    .await;
    assert_eq!(ids(&listed), ids(&mine));
    assert_eq!(ids(&listed)[0], made[0].id);
    // Another account's views are empty.
    assert!(store
        .list_by_activity(&fresh_account(), ActivityView::All, None, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_solved_ticket_leaves_its_agents_mine_view(store: Arc<dyn Store>) {
    let account = fresh_account();
    let mut c = conversation(&account, "alice", 10);
    c.assignee = Some("ag-1".into());
    c.ticket_status = TicketStatus::Open;
    store.create_conversation(&c).await.unwrap();
    let listed = || async {
        store
            .list_by_activity(&account, ActivityView::AssignedTo("ag-1"), None, 10)
            .await
            .unwrap()
    };
    assert_eq!(
        ids(&eventually(listed, |p| p.len() == 1).await),
        [c.id.clone()]
    );
    c.ticket_status = TicketStatus::Solved;
    c.revision += 1;
    store.update_conversation(&c).await.unwrap();
    assert!(eventually(listed, |p| p.is_empty()).await.is_empty());
}

async fn waiting_in(
    store: &Arc<dyn Store>,
    account: &str,
    at: i64,
    priority: Priority,
    group: Option<&str>,
) -> WaitingEntry {
    let mut c = hand_off(&conversation(account, "alice", at), None, at).expect("hand off");
    c.priority = priority;
    c.group = group.map(str::to_string);
    store.create_conversation(&c).await.unwrap();
    let entry = WaitingEntry::for_conversation(&c);
    store.put_waiting(&entry).await.unwrap();
    entry
}

pub async fn waiting_pages_follow_routing_order_within_the_callers_groups(store: Arc<dyn Store>) {
    let account = fresh_account();
    let billing_old = waiting_in(&store, &account, 10, Priority::Normal, Some("billing")).await;
    let sales = waiting_in(&store, &account, 20, Priority::Normal, Some("sales")).await;
    let ungrouped = waiting_in(&store, &account, 30, Priority::Normal, None).await;
    let billing_urgent = waiting_in(&store, &account, 40, Priority::Urgent, Some("billing")).await;
    let conversation_ids = |entries: &[WaitingEntry]| -> Vec<String> {
        entries.iter().map(|e| e.conversation_id.clone()).collect()
    };

    let everyone = store
        .list_waiting_page(&account, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        conversation_ids(&everyone),
        conversation_ids(&[
            billing_urgent.clone(),
            billing_old.clone(),
            sales.clone(),
            ungrouped.clone()
        ])
    );
    let billing = vec!["billing".to_string()];
    let expected = vec![
        billing_urgent.clone(),
        billing_old.clone(),
        ungrouped.clone(),
    ];
    let page = eventually(
        || async {
            store
                .list_waiting_page(&account, Some(&billing), None, 10)
                .await
                .unwrap()
        },
        |page| conversation_ids(page) == conversation_ids(&expected),
    )
    .await;
    assert_eq!(conversation_ids(&page), conversation_ids(&expected));
    // From a cursor: what follows it, in order.
    let rest = store
        .list_waiting_page(
            &account,
            Some(&billing),
            Some(&billing_urgent.sort_key()),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        conversation_ids(&rest),
        conversation_ids(&[billing_old.clone(), ungrouped.clone()])
    );
    let rest = store
        .list_waiting_page(&account, None, Some(&sales.sort_key()), 10)
        .await
        .unwrap();
    assert_eq!(conversation_ids(&rest), conversation_ids(&[ungrouped]));
}

pub async fn a_waiting_entry_moves_with_its_conversation_or_not_at_all(store: Arc<dyn Store>) {
    let account = fresh_account();
    let entry = waiting_in(&store, &account, 10, Priority::Normal, None).await;
    let current = store
        .get_conversation(&account, &entry.conversation_id)
        .await
        .unwrap()
        .unwrap();
    let mut next = current.clone();
    next.priority = Priority::Urgent;
    next.group = Some("billing".into());
    next.revision += 1;
    let moved = WaitingEntry::for_conversation(&next);
    // A stale write moves nothing.
    let mut stale = next.clone();
    stale.revision += 5;
    assert!(matches!(
        store.move_waiting(&stale, &entry, &moved).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .list_waiting_page(&account, None, None, 10)
            .await
            .unwrap(),
        vec![entry.clone()]
    );
    store.move_waiting(&next, &entry, &moved).await.unwrap();
    assert_eq!(
        store
            .list_waiting_page(&account, None, None, 10)
            .await
            .unwrap(),
        vec![moved.clone()]
    );
    let stored = store
        .get_conversation(&account, &entry.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.priority, Priority::Urgent);
    let billing = vec!["billing".to_string()];
    let in_group = eventually(
        || async {
            store
                .list_waiting_page(&account, Some(&billing), None, 10)
                .await
                .unwrap()
        },
        |page| page.len() == 1,
    )
    .await;
    assert_eq!(in_group, vec![moved]);
}

pub async fn history_entries_are_recorded_once_and_listed_in_revision_order(store: Arc<dyn Store>) {
    let account = fresh_account();
    let entry = |revision: u64, field: &str| HistoryEntry {
        account_id: account.clone(),
        conversation_id: "c_1".into(),
        ticket_id: "t_1".into(),
        revision,
        field: field.into(),
        before: serde_json::json!(null),
        after: serde_json::json!({"nested": ["x", 1]}),
        by: Some(domain::model::Actor {
            role: domain::model::Role::Admin,
            id: "boss".into(),
        }),
        at: 5,
    };
    let entries = vec![entry(2, "group"), entry(2, "priority"), entry(1, "tags")];
    store.record_history(&entries).await.unwrap();
    // Redelivered by the stream: nothing doubles.
    store.record_history(&entries).await.unwrap();
    let listed = store.list_history(&account, "c_1", 0, 10).await.unwrap();
    assert_eq!(
        listed,
        vec![entry(1, "tags"), entry(2, "group"), entry(2, "priority")]
    );
    let after_first = store.list_history(&account, "c_1", 1, 10).await.unwrap();
    assert_eq!(after_first.len(), 2);
    assert!(store
        .list_history(&account, "c_1", u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_history(&fresh_account(), "c_1", 0, 10)
        .await
        .unwrap()
        .is_empty());
}
