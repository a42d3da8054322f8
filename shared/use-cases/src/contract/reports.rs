//! The reports' store: a measure moves one version at a time, its row counts with it or not
//! at all, and rows are listed by day.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fresh_account;
use crate::ports::Store;
use crate::StoreError;
use domain::reports::{ReportRow, SessionMeasure, Tally};

pub async fn a_report_counts_with_its_measure_once_and_lists_rows_by_day(store: Arc<dyn Store>) {
    let account = fresh_account();
    let fresh = store.session_measure(&account, "c_1", 1).await.unwrap();
    assert_eq!(fresh, SessionMeasure::new(&account, "c_1", 1));
    let tally =
        |day: &str, agent: Option<&str>, group: Option<&str>, counters: &[(&str, i64)]| Tally {
            account_id: account.clone(),
            day: day.into(),
            agent_id: agent.map(str::to_string),
            group: group.map(str::to_string),
            counters: counters.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
    let mut first = fresh.clone();
    first.version = 1;
    first.counted.insert("started".into());
    first.group = Some("billing".into());
    let started = tally(
        "2026-12-01",
        None,
        Some("billing"),
        &[("conversations_started", 1)],
    );
    store
        .count_in_report(&first, std::slice::from_ref(&started))
        .await
        .unwrap();
    // The same count again (a redelivery that read the old measure): refused, nothing added.
    let again = store
        .count_in_report(&first, std::slice::from_ref(&started))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let mut second = first.clone();
    second.version = 2;
    second.first_reply_at = Some(5);
    // An agent id and a group with the key's separators in them still make one row each.
    let replied = tally(
        "2026-12-01",
        Some("a#1:x"),
        Some("billing"),
        &[("first_reply_b10", 1), ("first_reply_sum_ms", 500)],
    );
    store
        .count_in_report(&second, std::slice::from_ref(&replied))
        .await
        .unwrap();
    let replied_again = tally(
        "2026-12-01",
        Some("a#1:x"),
        Some("billing"),
        &[("first_reply_b10", 2)],
    );
    let mut third = second.clone();
    third.version = 3;
    third.agent_message_seqs = vec![4];
    store
        .count_in_report(&third, std::slice::from_ref(&replied_again))
        .await
        .unwrap();
    let mut fourth = third.clone();
    fourth.version = 4;
    fourth.agent_message_seqs = vec![4, 6];
    store.count_in_report(&fourth, &[]).await.unwrap();
    assert_eq!(
        store.session_measure(&account, "c_1", 1).await.unwrap(),
        fourth
    );
    let mut other = SessionMeasure::new(&account, "c_2", 1);
    other.version = 1;
    let later = tally("2026-12-03", Some("ana"), None, &[("handoffs", 1)]);
    store
        .count_in_report(&other, std::slice::from_ref(&later))
        .await
        .unwrap();

    let rows = |from: &'static str, to: &'static str| {
        let (store, account) = (store.clone(), account.clone());
        async move {
            let mut rows = store.report_rows(&account, (from, to), 100).await.unwrap();
            rows.sort_by(|a, b| (&a.day, &a.agent_id).cmp(&(&b.day, &b.agent_id)));
            rows
        }
    };
    let row =
        |day: &str, agent: Option<&str>, group: Option<&str>, counters: &[(&str, i64)]| ReportRow {
            day: day.into(),
            agent_id: agent.map(str::to_string),
            group: group.map(str::to_string),
            counters: counters
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
        };
    assert_eq!(
        rows("2026-12-01", "2026-12-02").await,
        vec![
            row(
                "2026-12-01",
                None,
                Some("billing"),
                &[("conversations_started", 1)]
            ),
            row(
                "2026-12-01",
                Some("a#1:x"),
                Some("billing"),
                &[("first_reply_b10", 3), ("first_reply_sum_ms", 500)]
            ),
        ]
    );
    assert_eq!(rows("2026-12-01", "2026-12-03").await.len(), 3);
    assert_eq!(
        rows("2026-12-03", "2026-12-31").await,
        vec![row("2026-12-03", Some("ana"), None, &[("handoffs", 1)])]
    );
    assert!(store
        .report_rows(&fresh_account(), ("2026-01-01", "2026-12-31"), 100)
        .await
        .unwrap()
        .is_empty());
}

/// Sessions counted at once into one row (one agent's day, from several stream shards) all
/// count: a count that lost the race for the row is a `Conflict`, and counting it again from
/// its measure (as `use_cases::reports` does) adds it once.
pub async fn concurrent_counts_into_one_row_all_count(store: Arc<dyn Store>) {
    const SESSIONS: usize = 8;
    let account = fresh_account();
    let tally = Tally {
        account_id: account.clone(),
        day: "2026-12-07".into(),
        agent_id: Some("ana".into()),
        group: None,
        counters: [
            ("handoffs".to_string(), 1),
            ("first_reply_b7".to_string(), 2),
        ]
        .into_iter()
        .collect(),
    };
    let counts = (0..SESSIONS).map(|i| {
        let (store, account, tally) = (store.clone(), account.clone(), tally.clone());
        tokio::spawn(async move {
            let conversation = format!("c_{i}");
            for _ in 0..50 {
                let mut measure = store
                    .session_measure(&account, &conversation, 1)
                    .await
                    .unwrap();
                if measure.version > 0 {
                    return;
                }
                measure.version = 1;
                match store
                    .count_in_report(&measure, std::slice::from_ref(&tally))
                    .await
                {
                    Ok(()) => return,
                    Err(StoreError::Conflict) => continue,
                    Err(other) => panic!("{other:?}"),
                }
            }
            panic!("session {i} never counted");
        })
    });
    for count in futures::future::join_all(counts).await {
        count.unwrap();
    }
    let rows = store
        .report_rows(&account, ("2026-12-07", "2026-12-07"), 10)
        .await
        .unwrap();
    let expected: BTreeMap<String, i64> = [
        ("handoffs".to_string(), SESSIONS as i64),
        ("first_reply_b7".to_string(), 2 * SESSIONS as i64),
    ]
    .into_iter()
    .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].counters, expected);
}
