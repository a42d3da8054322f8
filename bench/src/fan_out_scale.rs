//! Fan-out of one event to N connections at the use-case level (in memory): the connection
//! lookup, the two renderings and N pushes of `use_cases::realtime::deliver`, without sockets
//! (10,000 real sockets exceed this machine's file limit and an account's 2,000 connections;
//! section 6's socket table stops at 1,000). Linear means a flat cost per connection.

use std::time::{Duration, Instant};

use adapters::memory::{MemoryPush, MemoryStore};
use domain::model::{AuthorRole, Message, MessageKind, Role};
use domain::realtime::{events_of, Listener, Stored, StoredChange};
use use_cases::ports::{Connection, ConnectionStore};

const ACCOUNT: &str = "acct-scale";

fn message(conversation: &domain::model::Conversation) -> Message {
    Message {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: 2,
        id: "m_scale".into(),
        client_message_id: "c-scale".into(),
        author_id: conversation.owner_id.clone(),
        author_role: AuthorRole::EndUser,
        kind: MessageKind::Text,
        text: Some("to everyone".into()),
        rich: None,
        attachment_ids: Vec::new(),
        session_no: conversation.session_no,
        ticket_id: conversation.ticket_id.clone(),
        created_at: domain::now_ms(),
        request_hash: String::new(),
        redacted: None,
        direct_push_seq: None,
    }
}

/// The median time of 11 deliveries of one message to `n` subscribed staff connections, after
/// one unmeasured (the first fills the channels' buffers).
async fn deliver_to(n: usize) -> Result<Duration, String> {
    let now = domain::now_ms();
    let store = MemoryStore::default();
    let push = MemoryPush::default();
    let settings = domain::settings::Settings::default();
    let conversation = domain::rules::new_conversation(ACCOUNT, "eu-scale", &settings, now);
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let connection = Connection {
            id: format!("conn-{i}"),
            listener: Listener {
                account_id: ACCOUNT.into(),
                user_id: format!("ag-{i}"),
                role: Role::Agent,
            },
            connected_at: now,
            expires_at: now / 1000 + 3600,
        };
        let added = store
            .add_connection(&connection, usize::MAX)
            .await
            .map_err(|e| e.to_string())?;
        if !added {
            return Err(format!("connection {i} refused"));
        }
        store
            .subscribe(&connection, &conversation.id)
            .await
            .map_err(|e| e.to_string())?;
        sockets.push(push.open(&connection.id));
    }
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message(&conversation)))),
    };
    let mut times = Vec::new();
    for round in 0..12 {
        let started = Instant::now();
        let mut frames = 0;
        for delivery in events_of(&change, Some(&conversation)) {
            let (pushed, _) = use_cases::realtime::deliver(&store, &push, &delivery, now)
                .await
                .map_err(|e| e.to_string())?;
            frames += pushed;
        }
        if round > 0 {
            times.push(started.elapsed());
        }
        if frames < n {
            return Err(format!("{frames} frames for {n} connections"));
        }
        for socket in &mut sockets {
            while socket.try_recv().is_ok() {}
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

pub async fn table() -> Result<(), String> {
    println!("\n### Fan-out of one message to N subscribed connections, use-case level (in memory, no sockets; median of 11 after a warm-up)\n");
    println!("| connections | deliver | µs per connection | deliveries per second |");
    println!("|---|---|---|---|");
    for n in [100, 1_000, 10_000] {
        let time = deliver_to(n).await?;
        println!(
            "| {n} | {:.2} ms | {:.2} | {:.0} |",
            time.as_secs_f64() * 1e3,
            time.as_secs_f64() * 1e6 / n as f64,
            n as f64 / time.as_secs_f64()
        );
    }
    Ok(())
}
