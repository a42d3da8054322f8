//! The adapter contract: one suite of behaviours every `Store` and `Queue` adapter must show.
//! `store_contract_tests!` / `queue_contract_tests!` instantiate the same functions as tests for
//! a given adapter, so the in-memory and AWS adapters cannot drift apart.
//!
//! Every function uses fresh account ids, so the suite can share one emulator table.

use std::sync::Arc;

mod routing;
pub use routing::*;

use crate::ids::new_id;
use crate::model::{
    Account, AppendOutcome, AuthorRole, Conversation, Message, MessageKind, SigningKey,
};
use crate::ports::{Queue, Store, StoredSettings};
use crate::routing::{
    with_assignment, with_offer, Agent, AgentProfileChange, AgentStatus, CapacityChannel, Offer,
    WaitingEntry,
};
use crate::rules::{hand_off, new_conversation};
use crate::sessions::{end_session, CapacityRelease};
use crate::settings::{AuditEntry, EffectJob, SettingsEffect, WorkspaceFacts, GENESIS_HASH};
use crate::settings::{EndedSessionRouting, Settings};
use crate::StoreError;

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
    let ids: Vec<String> = store
        .list_conversations_for_user(&account, "alice", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![newer.id.clone(), older.id.clone()]);
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
    first.priority = 5;
    first.revision += 1;
    store.update_conversation(&first).await.unwrap();
    let mut stale = c.clone();
    stale.priority = 9;
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
    assert_eq!(stored.priority, 5);
    assert_eq!(stored.revision, 1);
}

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

pub async fn settings_commit_is_conditional_on_version_and_audited(store: Arc<dyn Store>) {
    let account = fresh_account();
    assert_eq!(store.get_settings(&account).await.unwrap(), None);
    let entry = |version: u64, prev: &str| {
        AuditEntry::new(&account, version, "admin-1", 10, Default::default(), prev)
    };
    let first = entry(1, GENESIS_HASH);
    let v1 = StoredSettings {
        version: 1,
        document: serde_json::json!({"bot": {"enabled": false}}),
        last_hash: first.hash.clone(),
    };
    let job = EffectJob {
        account_id: account.clone(),
        version: 1,
        effect: SettingsEffect::EndLiveChats,
        requested_at: 10,
    };
    store
        .commit_settings(&account, 0, &v1, &first, std::slice::from_ref(&job))
        .await
        .unwrap();
    assert_eq!(
        store.get_settings(&account).await.unwrap(),
        Some(v1.clone())
    );
    // A second writer that read version 0 loses, and writes nothing.
    let rival = entry(1, GENESIS_HASH);
    let stale = StoredSettings {
        version: 1,
        document: serde_json::json!({}),
        last_hash: rival.hash.clone(),
    };
    assert!(matches!(
        store
            .commit_settings(&account, 0, &stale, &rival, &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_settings(&account).await.unwrap(),
        Some(v1.clone())
    );
    let second = entry(2, &first.hash);
    let v2 = StoredSettings {
        version: 2,
        document: serde_json::json!({}),
        last_hash: second.hash.clone(),
    };
    store
        .commit_settings(&account, 1, &v2, &second, &[])
        .await
        .unwrap();
    let audit = store.list_audit(&account, 0, 10).await.unwrap();
    assert_eq!(audit, vec![first.clone(), second.clone()]);
    assert_eq!(
        store.list_audit(&account, 1, 10).await.unwrap(),
        vec![second]
    );
    assert_eq!(crate::settings::verify_chain(&audit), Ok(()));

    assert_eq!(
        store.pending_effects(&account).await.unwrap(),
        vec![job.clone()]
    );
    store.complete_effect(&job).await.unwrap();
    store.complete_effect(&job).await.unwrap();
    assert!(store.pending_effects(&account).await.unwrap().is_empty());
}

pub async fn workspace_facts_default_and_round_trip(store: Arc<dyn Store>) {
    let account = fresh_account();
    assert_eq!(
        store.get_workspace_facts(&account).await.unwrap(),
        WorkspaceFacts::default()
    );
    let facts = WorkspaceFacts {
        groups: vec!["billing".into()],
        unconverted_chat_departments: 2,
        help_center_articles: 12,
    };
    store.put_workspace_facts(&account, &facts).await.unwrap();
    assert_eq!(store.get_workspace_facts(&account).await.unwrap(), facts);
}

pub async fn active_live_chats_are_listed_until_ended(store: Arc<dyn Store>) {
    let account = fresh_account();
    let mut chat_settings = Settings::default();
    chat_settings.messaging.enabled = false;
    let live = new_conversation(&account, "alice", &chat_settings, 5);
    let messaging = conversation(&account, "bob", 6);
    store.create_conversation(&live).await.unwrap();
    store.create_conversation(&messaging).await.unwrap();
    let listed = store.list_active_live_chats(&account, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![live.id.clone()]
    );
    let ended = crate::sessions::end_live_chat(&live, None, 7).unwrap();
    store.commit_session_change(&ended).await.unwrap();
    assert!(store
        .list_active_live_chats(&account, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_active_live_chats(&fresh_account(), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn attachment_is_decided_once_and_only_while_pending(store: Arc<dyn Store>) {
    use crate::attachments::{object_key, Attachment, AttachmentStatus};
    let account = fresh_account();
    let conversation_id = new_id("c");
    let id = new_id("att");
    let pending = Attachment {
        account_id: account.clone(),
        conversation_id: conversation_id.clone(),
        object_key: object_key(&account, &conversation_id, &id),
        id: id.clone(),
        uploader_id: "eu-1".into(),
        file_name: "a.png".into(),
        extension: "png".into(),
        declared_content_type: "image/png".into(),
        declared_size: 10,
        size: None,
        status: AttachmentStatus::Pending,
        reason: None,
        download_only: false,
        created_at: 1,
        decided_at: None,
    };
    store.create_attachment(&pending).await.unwrap();
    assert!(matches!(
        store.create_attachment(&pending).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &id)
            .await
            .unwrap(),
        Some(pending.clone())
    );
    // Another conversation's id space is separate.
    assert_eq!(
        store
            .get_attachment(&account, &new_id("c"), &id)
            .await
            .unwrap(),
        None
    );
    let clean = Attachment {
        status: AttachmentStatus::Clean,
        size: Some(10),
        decided_at: Some(2),
        ..pending.clone()
    };
    assert_eq!(store.decide_attachment(&clean).await.unwrap(), clean);
    // A second, different decision does not overwrite the first.
    let rejected = Attachment {
        status: AttachmentStatus::Rejected,
        reason: Some("content_mismatch".into()),
        decided_at: Some(3),
        ..pending
    };
    assert_eq!(store.decide_attachment(&rejected).await.unwrap(), clean);
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &id)
            .await
            .unwrap(),
        Some(clean)
    );
}

pub async fn queue_delivers_sent_messages_until_acknowledged(queue: Arc<dyn Queue>) {
    let body = format!("{{\"n\":\"{}\"}}", new_id("q"));
    queue.send(&body, 0).await.unwrap();
    let received = queue.receive(10).await.unwrap();
    let ours: Vec<_> = received.iter().filter(|m| m.body == body).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].receive_count, 1);
    assert!(!ours[0].message_id.is_empty());
    for m in &received {
        queue.acknowledge(&m.receipt).await.unwrap();
    }
    let again = queue.receive(10).await.unwrap();
    assert!(again.iter().all(|m| m.body != body));
}

pub async fn batch_sent_messages_are_each_delivered_once(queue: Arc<dyn Queue>) {
    // More than one SQS batch (10), and one delayed entry that must stay invisible for now.
    let run = new_id("b");
    let mut batch: Vec<(String, u32)> = (0..13)
        .map(|i| (format!("{{\"batch\":\"{run}\",\"n\":{i}}}"), 0))
        .collect();
    let delayed = format!("{{\"batch\":\"{run}\",\"n\":\"later\"}}");
    batch.push((delayed.clone(), 60));
    queue.send_batch(&batch).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let received = queue.receive(10).await.unwrap();
        for m in &received {
            queue.acknowledge(&m.receipt).await.unwrap();
        }
        seen.extend(received.into_iter().map(|m| m.body));
        if seen.iter().filter(|b| b.contains(&run)).count() >= 13 {
            break;
        }
    }
    let mut ours: Vec<&String> = seen.iter().filter(|b| b.contains(&run)).collect();
    ours.sort();
    let mut expected: Vec<&String> = batch[..13].iter().map(|(b, _)| b).collect();
    expected.sort();
    assert_eq!(
        ours, expected,
        "every immediate entry once, the delayed one not yet"
    );
}

pub async fn delayed_queue_message_is_invisible_until_its_delay_passes(queue: Arc<dyn Queue>) {
    let body = format!("{{\"delayed\":\"{}\"}}", new_id("q"));
    queue.send(&body, 2).await.unwrap();
    let early = queue.receive(10).await.unwrap();
    assert!(early.iter().all(|m| m.body != body));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut seen = false;
    for _ in 0..5 {
        for m in queue.receive(10).await.unwrap() {
            seen |= m.body == body;
            queue.acknowledge(&m.receipt).await.unwrap();
        }
        if seen {
            break;
        }
    }
    assert!(seen, "delayed message never became visible");
}

/// An online agent with capacity (messaging, email), holding one accepted conversation of
/// `account` on its messaging capacity; returns the agent and the assigned conversation.
async fn agent_with_assigned_conversation(
    store: &Arc<dyn Store>,
    account: &str,
    capacity: (u32, u32),
) -> (Agent, Conversation) {
    let agent_id = new_id("agent");
    store
        .update_agent_profile(
            account,
            &agent_id,
            &AgentProfileChange {
                status: Some(AgentStatus::Online),
                capacity: Some(capacity),
                groups: None,
            },
            1,
        )
        .await
        .unwrap();
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

/// Instantiates the store contract for the adapter built by the async expression `$make`
/// (which must evaluate to `Arc<dyn Store>`).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@each $make;
            account_and_signing_key_round_trip,
            conversation_round_trip_and_duplicate_create_refused,
            conversations_listed_newest_first_for_their_owner_only,
            stale_conversation_update_conflicts_and_changes_nothing,
            appended_messages_get_consecutive_seqs_and_page_by_cursor,
            replayed_client_message_id_returns_original,
            concurrent_appends_get_unique_gap_free_seqs,
            concurrent_replays_of_one_client_message_id_store_one_message,
            settings_commit_is_conditional_on_version_and_audited,
            workspace_facts_default_and_round_trip,
            active_live_chats_are_listed_until_ended,
            attachment_is_decided_once_and_only_while_pending,
            session_end_writes_notice_csat_and_capacity_in_one_step_once,
            session_change_whose_capacity_condition_fails_writes_nothing,
            concurrent_offers_never_take_an_agent_beyond_its_capacity,
            offer_to_an_offline_agent_is_refused_and_writes_nothing,
            withdrawn_offer_frees_the_slot_and_the_conversation_waits_in_its_place,
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
        );
    };
}
