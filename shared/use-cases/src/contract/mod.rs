//! The adapter contract: one suite of behaviours every `Store`, `Queue` and `ObjectStore`
//! adapter must show. `store_contract_tests!`, `queue_contract_tests!` and
//! `object_store_contract_tests!` instantiate the same functions as tests for a given adapter,
//! so the in-memory and AWS adapters cannot drift apart.
//!
//! Every function uses fresh account ids, so the suite can share one emulator table.

use std::sync::Arc;

mod attachments;
mod conversations;
mod email;
mod integrations;
mod knowledge;
mod macros;
mod messages;
mod objects;
mod push;
mod queues;
mod realtime;
mod reports;
mod routing;
mod sessions;
mod settings;
mod webhooks;
mod workspace;

pub use attachments::*;
pub use conversations::*;
pub use email::*;
pub use integrations::*;
pub use knowledge::*;
pub use macros::*;
pub use messages::*;
pub use objects::*;
pub use push::*;
pub use queues::*;
pub use realtime::*;
pub use reports::*;
pub use routing::*;
pub use sessions::*;
pub use settings::*;
pub use webhooks::*;
pub use workspace::*;

use crate::ports::{Queue, Store, StoredSettings};
use crate::StoreError;
use domain::ids::new_id;
use domain::model::{
    Account, AppendOutcome, AuthorRole, Conversation, Message, MessageKind, SigningKey,
};
use domain::routing::{
    with_assignment, with_offer, Agent, AgentProfileChange, AgentStatus, CapacityChannel, Offer,
    WaitingEntry,
};
use domain::rules::{hand_off, new_conversation};
use domain::sessions::{end_session, CapacityRelease};
use domain::settings::{AuditEntry, EffectJob, SettingsEffect, WorkspaceFacts, GENESIS_HASH};
use domain::settings::{EndedSessionRouting, Settings};

/// Fixtures, also used by adapter-specific tests.
pub fn fresh_account() -> String {
    new_id("acct")
}

pub fn conversation(account_id: &str, owner: &str, created_at: i64) -> Conversation {
    new_conversation(account_id, owner, &Settings::default(), created_at)
}

pub fn message(c: &Conversation, author: &str, client_message_id: &str, text: &str) -> Message {
    Message {
        account_id: c.account_id.clone(),
        conversation_id: c.id.clone(),
        seq: 0,
        id: new_id("m"),
        client_message_id: client_message_id.into(),
        author_id: author.into(),
        author_role: AuthorRole::EndUser,
        kind: MessageKind::Text,
        text: Some(text.into()),
        rich: None,
        attachment_ids: vec![],
        session_no: c.session_no,
        ticket_id: c.ticket_id.clone(),
        created_at: 1,
        request_hash: format!("hash-of-{text}"),
        redacted: None,
        direct_push_seq: None,
    }
}

/// What an index read (eventually consistent on DynamoDB) shows once it has caught up: `read`
/// again until `settled` accepts it or five seconds pass, as a client paging a list would see
/// it a moment later. The last read is returned either way, for the caller to assert on.
pub async fn eventually<T, F, Fut>(read: F, settled: impl Fn(&T) -> bool) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let value = read().await;
        if settled(&value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn created(outcome: AppendOutcome) -> Message {
    match outcome {
        AppendOutcome::Created(m) => m,
        AppendOutcome::Existing(m) => panic!("expected a new message, got existing seq {}", m.seq),
    }
}

pub async fn account_and_signing_key_round_trip(store: Arc<dyn Store>) {
    let id = fresh_account();
    assert_eq!(store.get_account(&id).await.unwrap(), None);
    let account = Account {
        id: id.clone(),
        name: "Acme".into(),
        capabilities: vec!["csat.customizable".into()],
        created_at: 5,
        messaging_enabled_at: None,
        widget_key: None,
    };
    store.put_account(&account).await.unwrap();
    assert_eq!(store.get_account(&id).await.unwrap(), Some(account));
    let key = SigningKey {
        account_id: id.clone(),
        kid: "k1".into(),
        secret: "s".into(),
        created_at: 5,
    };
    store.put_signing_key(&key).await.unwrap();
    assert_eq!(store.get_signing_key(&id, "k1").await.unwrap(), Some(key));
    assert_eq!(store.get_signing_key(&id, "k2").await.unwrap(), None);
    // A key is only found under its own account.
    assert_eq!(
        store.get_signing_key(&fresh_account(), "k1").await.unwrap(),
        None
    );
    assert_eq!(store.get_settings(&id).await.unwrap(), None);
}

pub async fn a_signing_key_is_created_once_whoever_races(store: Arc<dyn Store>) {
    let id = fresh_account();
    let key = |secret: &str| SigningKey {
        account_id: id.clone(),
        kid: "visitors".into(),
        secret: secret.into(),
        created_at: 5,
    };
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let (store, key) = (store.clone(), key(&format!("secret-{n}")));
            tokio::spawn(async move { store.create_signing_key_if_absent(&key).await })
        })
        .collect();
    let mut kept = Vec::new();
    for racer in racers {
        kept.push(racer.await.unwrap().unwrap());
    }
    // Every creator got the one key that is stored, whichever won.
    let stored = store
        .get_signing_key(&id, "visitors")
        .await
        .unwrap()
        .unwrap();
    assert!(kept.iter().all(|k| *k == stored), "{kept:?}");
    assert_eq!(
        store
            .create_signing_key_if_absent(&key("later"))
            .await
            .unwrap(),
        stored
    );
}

pub async fn visitor_signups_are_counted_per_account_source_and_window(store: Arc<dyn Store>) {
    let (account, other) = (fresh_account(), fresh_account());
    let window = (60_000, 120_000);
    for expected in 1..=3 {
        let count = store
            .count_visitor_signup(&account, "203.0.113.7", window)
            .await
            .unwrap();
        assert_eq!(count, expected);
    }
    let count = |account: String, source: &'static str, window: (i64, i64)| {
        let store = store.clone();
        async move {
            store
                .count_visitor_signup(&account, source, window)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(account.clone(), "2001:db8::1", window).await, 1);
    assert_eq!(count(other, "203.0.113.7", window).await, 1);
    assert_eq!(count(account, "203.0.113.7", (120_000, 180_000)).await, 1);
}

/// R33's quota counters: charged while every counter stays within its limit, refused with
/// nothing written once one would pass it, per caller, quota and window.
pub async fn quota_charges_stop_at_their_limits_per_caller_and_window(store: Arc<dyn Store>) {
    use domain::quotas::UPLOADS_PER_DAY;
    let (account, now) = (fresh_account(), domain::now_ms());
    let charge = |subject: &str, amounts: [u64; 2], at: i64| {
        UPLOADS_PER_DAY.charge(&account, subject, &amounts, at).0
    };
    let mb = 1024 * 1024;
    // 10 files of 50 MB use the 500 MB exactly; the 11th is refused, and so is a small file.
    for i in 0..10 {
        assert!(
            store
                .charge_quota(&charge("alice", [1, 50 * mb], now))
                .await
                .unwrap(),
            "{i}"
        );
    }
    assert!(!store
        .charge_quota(&charge("alice", [1, 50 * mb], now))
        .await
        .unwrap());
    assert!(!store
        .charge_quota(&charge("alice", [1, 1], now))
        .await
        .unwrap());
    // Nothing was written by the refusals: a zero-byte charge of one file still fits.
    assert!(store
        .charge_quota(&charge("alice", [1, 0], now))
        .await
        .unwrap());
    // Another caller, and the next window, have their own counters.
    assert!(store
        .charge_quota(&charge("bob", [1, 50 * mb], now))
        .await
        .unwrap());
    let tomorrow = now + UPLOADS_PER_DAY.window_ms;
    assert!(store
        .charge_quota(&charge("alice", [1, 50 * mb], tomorrow))
        .await
        .unwrap());
    // The file counter stops at 100 on its own.
    for _ in 0..99 {
        assert!(store
            .charge_quota(&charge("carol", [1, 1], now))
            .await
            .unwrap());
    }
    assert!(store
        .charge_quota(&charge("carol", [1, 1], now))
        .await
        .unwrap());
    assert!(!store
        .charge_quota(&charge("carol", [1, 1], now))
        .await
        .unwrap());
}

/// Instantiates the store contract for the adapter built by the async expression `$make`
/// (which must evaluate to `Arc<dyn Store>`).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            account_and_signing_key_round_trip,
            a_signing_key_is_created_once_whoever_races,
            integrations_round_trip_list_per_account_and_stay_revoked,
            webhook_subscriptions_log_attempts_and_disable_after_a_run_of_failures,
            visitor_signups_are_counted_per_account_source_and_window,
            quota_charges_stop_at_their_limits_per_caller_and_window,
            conversation_round_trip_and_duplicate_create_refused,
            conversations_listed_newest_first_for_their_owner_only,
            stale_conversation_update_conflicts_and_changes_nothing,
            appended_messages_get_consecutive_seqs_and_page_by_cursor,
            replayed_client_message_id_returns_original,
            a_message_is_redacted_once_keeping_its_seq,
            cursors_beyond_every_item_list_nothing,
            concurrent_appends_get_unique_gap_free_seqs,
            concurrent_replays_of_one_client_message_id_store_one_message,
            settings_commit_is_conditional_on_version_and_audited,
            workspace_facts_default_and_round_trip,
            active_live_chats_are_listed_until_ended,
            attachment_is_decided_once_and_only_while_pending_and_erased_at_any_time,
            session_end_writes_notice_csat_and_capacity_in_one_step_once,
            a_csat_request_is_rated_once_and_listed_by_the_time_of_its_rating,
            session_change_whose_capacity_condition_fails_writes_nothing,
            concurrent_offers_never_take_an_agent_beyond_its_capacity,
            offer_to_an_offline_agent_is_refused_and_writes_nothing,
            withdrawn_offer_frees_the_slot_and_the_conversation_waits_in_its_place,
            connections_are_found_by_id_and_listener_until_removed,
            subscribers_are_listed_until_unsubscribed_or_disconnected,
            a_push_cursor_only_moves_up_and_is_kept_per_conversation,
            an_account_at_its_connection_limit_is_refused_the_next,
            expired_connections_are_neither_found_nor_counted,
            activity_views_list_newest_activity_first_and_page_by_cursor,
            a_solved_ticket_leaves_its_agents_mine_view,
            waiting_pages_follow_routing_order_within_the_callers_groups,
            a_waiting_entry_moves_with_its_conversation_or_not_at_all,
            history_entries_are_recorded_once_and_listed_in_revision_order,
            a_report_counts_with_its_measure_once_and_lists_rows_by_day,
            concurrent_counts_into_one_row_all_count,
            articles_change_with_their_base_or_not_at_all,
            macro_changes_move_the_book_once_and_chain_their_audit,
            an_email_secret_is_made_once_and_grants_and_failures_round_trip,
            expiry_is_set_and_removed_only_at_the_revision_read,
            a_write_that_revives_a_conversation_takes_its_expiry_away,
            a_purge_leaves_nothing_of_its_conversation_and_all_of_the_others,
            an_item_over_400_kb_is_refused_and_nothing_is_written,
        );
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::contract::$name($make.await).await;
            }
        )+
    };
}

/// Instantiates the queue contract for the adapter built by `$make` (`Arc<dyn Queue>`).
#[macro_export]
macro_rules! queue_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            queue_delivers_sent_messages_until_acknowledged,
            batch_sent_messages_are_each_delivered_once,
            delayed_queue_message_is_invisible_until_its_delay_passes,
            a_message_retried_after_a_delay_comes_back_then_with_its_count_up,
            queue_bodies_keep_to_what_sqs_carries,
        );
    };
}

/// Instantiates the object store contract for the adapter built by `$make` (`ObjectsUnderTest`).
#[macro_export]
macro_rules! object_store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            missing_object_has_no_size_and_deleting_it_succeeds,
            stored_object_reports_its_size_reads_a_bounded_prefix_and_deletes,
            replaced_object_reports_the_new_bytes_under_a_new_tag,
            copy_takes_only_the_version_named,
            upload_target_is_for_its_key_and_expires_after_its_ttl,
            download_urls_differ_per_key_and_name,
            deleting_a_prefix_removes_every_object_under_it_and_nothing_else,
            an_object_put_by_the_product_is_read_back_whole,
        );
    };
}

/// Instantiates the change feed contract for the store and feed built by `$make`
/// (`FeedUnderTest`).
#[macro_export]
macro_rules! change_feed_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            feed_reports_conversation_and_message_writes_in_order_with_both_images,
            feed_reports_a_redaction_with_the_message_before_and_after,
            feed_reports_no_other_items,
        );
    };
}

/// Instantiates the push contract for the adapter built by `$make` (`PushUnderTest`).
#[macro_export]
macro_rules! push_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            frames_pushed_to_an_open_connection_are_delivered_in_order,
            a_push_to_a_connection_the_service_no_longer_has_is_gone,
            closing_an_open_or_gone_connection_succeeds,
        );
    };
}
