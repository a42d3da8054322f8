//! Which change becomes which event for whom, frames per role, strict client frames.

use super::*;
use crate::model::{AuthorRole, MessageKind};
use crate::model::{CapacityChannel, Control};
use crate::rules::new_conversation;
use crate::settings::Settings;
use serde_json::json;

fn conversation() -> Conversation {
    let mut c = new_conversation("acct", "eu-1", &Settings::default(), 1);
    c.id = "c1".into();
    c
}

fn message(kind: MessageKind) -> Message {
    Message {
        account_id: "acct".into(),
        conversation_id: "c1".into(),
        seq: 3,
        id: "m3".into(),
        client_message_id: "cm".into(),
        author_id: "ag-1".into(),
        author_role: AuthorRole::Agent,
        kind,
        text: Some("hi".into()),
        rich: None,
        attachment_ids: vec![],
        session_no: 1,
        ticket_id: "t".into(),
        created_at: 2,
        request_hash: "h".into(),
        redacted: None,
        direct_push_seq: None,
    }
}

fn change(before: &Conversation, after: &Conversation) -> Vec<Delivery> {
    events_of(
        &StoredChange {
            before: Some(Stored::Conversation(Box::new(before.clone()))),
            after: Some(Stored::Conversation(Box::new(after.clone()))),
        },
        None,
    )
}

/// The one delivery of a new message of `kind` in `c`.
fn message_deliveries(c: &Conversation, kind: MessageKind) -> Delivery {
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message(kind)))),
    };
    assert_eq!(conversation_needed(&change), Some(("acct", "c1")));
    let mut deliveries = events_of(&change, Some(c));
    assert_eq!(deliveries.len(), 1);
    deliveries.remove(0)
}

#[test]
fn new_message_reaches_end_user_assignee_and_subscribers_and_nothing_without_its_conversation() {
    let mut c = conversation();
    c.assignee = Some("ag-1".into());
    let delivery = message_deliveries(&c, MessageKind::Text);
    assert_eq!(delivery.event.id(), "msg:c1:3");
    assert_eq!(
        delivery.audience.listeners,
        vec![
            listener("eu-1", Role::EndUser),
            listener("ag-1", Role::Agent)
        ]
    );
    assert_eq!(delivery.audience.subscribers_of.as_deref(), Some("c1"));
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message(MessageKind::Text)))),
    };
    assert!(events_of(&change, None).is_empty());
    let mut other = c.clone();
    other.id = "c2".into();
    assert!(events_of(&change, Some(&other)).is_empty());
}

fn listener(user: &str, role: Role) -> Listener {
    Listener {
        account_id: "acct".into(),
        user_id: user.into(),
        role,
    }
}

fn offer(agent_id: &str, offer_id: &str) -> Offer {
    Offer {
        account_id: "acct".into(),
        conversation_id: "c1".into(),
        agent_id: agent_id.into(),
        offer_id: offer_id.into(),
        channel: CapacityChannel::Messaging,
        offered_at: 1,
        expires_at: 30_001,
    }
}

#[test]
fn internal_note_reaches_staff_and_never_the_end_user() {
    let note = Event::MessageCreated(Box::new(message(MessageKind::InternalNote)));
    let mut c = conversation();
    c.assignee = Some("ag-1".into());
    let audience = message_deliveries(&c, MessageKind::InternalNote).audience;
    assert!(!may_receive(
        &listener("eu-1", Role::EndUser),
        &audience,
        &note
    ));
    assert!(may_receive(
        &listener("ag-1", Role::Agent),
        &audience,
        &note
    ));
    let text = Event::MessageCreated(Box::new(message(MessageKind::Text)));
    assert!(may_receive(
        &listener("eu-1", Role::EndUser),
        &audience,
        &text
    ));
}

#[test]
fn another_end_user_and_another_account_receive_nothing() {
    let audience = message_deliveries(&conversation(), MessageKind::Text).audience;
    let text = Event::MessageCreated(Box::new(message(MessageKind::Text)));
    assert!(!may_receive(
        &listener("eu-2", Role::EndUser),
        &audience,
        &text
    ));
    let mut foreign = listener("ag-1", Role::Agent);
    foreign.account_id = "other".into();
    assert!(!may_receive(&foreign, &audience, &text));
}

#[test]
fn end_user_and_agent_with_one_id_are_different_listeners() {
    assert_ne!(
        listener("u1", Role::EndUser).key(),
        listener("u1", Role::Agent).key()
    );
    assert_eq!(
        listener("u1", Role::Agent).key(),
        listener("u1", Role::Admin).key()
    );
}

#[test]
fn offer_goes_to_the_offered_agent_and_its_withdrawal_follows() {
    let before = conversation();
    let mut offered = before.clone();
    offered.offer = Some(offer("ag-2", "o1"));
    let created = change(&before, &offered);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].event.type_name(), "offer.created");
    assert_eq!(
        created[0].audience.listeners,
        vec![listener("ag-2", Role::Agent)]
    );
    assert_eq!(created[0].audience.subscribers_of, None);

    let withdrawn = change(&offered, &before);
    assert_eq!(withdrawn[0].event.type_name(), "offer.withdrawn");
    assert_eq!(withdrawn[0].event.id(), "offer-withdrawn:o1");
}

#[test]
fn accepted_offer_is_an_update_for_the_agent_not_a_withdrawal() {
    let mut offered = conversation();
    offered.offer = Some(offer("ag-2", "o1"));
    let mut accepted = offered.clone();
    accepted.offer = None;
    accepted.assignee = Some("ag-2".into());
    accepted.control = Control::Agent;
    accepted.revision += 1;
    let events: Vec<_> = change(&offered, &accepted)
        .iter()
        .map(|d| d.event.type_name())
        .collect();
    assert!(!events.contains(&"offer.withdrawn"), "{events:?}");
    assert!(events.contains(&"conversation.updated"), "{events:?}");
}

#[test]
fn read_and_typing_go_to_the_other_party_only() {
    let mut before = conversation();
    before.assignee = Some("ag-1".into());
    let mut after = before.clone();
    after.end_user.read_seq = 4;
    after.end_user.typing_until = Some(10_000);
    let deliveries = change(&before, &after);
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.event.type_name())
            .collect::<Vec<_>>(),
        vec!["read", "typing"]
    );
    for d in &deliveries {
        assert_eq!(d.audience.listeners, vec![listener("ag-1", Role::Agent)]);
        assert_eq!(d.audience.subscribers_of.as_deref(), Some("c1"));
    }
    let mut stopped = after.clone();
    stopped.end_user.typing_until = None;
    match &change(&after, &stopped)[0].event {
        Event::Typing { state, .. } => assert_eq!(*state, TypingState::Stop),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cursor_only_changes_are_not_conversation_updates_but_handoff_is() {
    let before = conversation();
    let mut delivered = before.clone();
    delivered.agents.delivered_seq = 2;
    assert!(change(&before, &delivered).is_empty());
    let mut handed = before.clone();
    handed.control = Control::Agent;
    let deliveries = change(&before, &handed);
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event.type_name(), "conversation.updated");
    assert_eq!(
        deliveries[0].audience.listeners,
        vec![listener("eu-1", Role::EndUser)]
    );
}

#[test]
fn previous_assignee_hears_that_the_conversation_left_them() {
    let mut before = conversation();
    before.assignee = Some("ag-1".into());
    let mut after = before.clone();
    after.assignee = Some("ag-2".into());
    let audience = &change(&before, &after)[0].audience;
    assert!(audience.listeners.contains(&listener("ag-1", Role::Agent)));
    assert!(audience.listeners.contains(&listener("ag-2", Role::Agent)));
}

#[test]
fn frames_show_rich_content_to_end_users_and_its_text_to_staff() {
    let mut m = message(MessageKind::Rich);
    m.rich = Some(serde_json::json!({"layout": "card"}));
    let event = Event::MessageCreated(Box::new(m));
    let for_user: serde_json::Value =
        serde_json::from_str(&server_frame(&event, Role::EndUser, 5)).unwrap();
    assert_eq!(for_user["type"], "message.created");
    assert_eq!(for_user["id"], "msg:c1:3");
    assert_eq!(for_user["data"]["conversation_id"], "c1");
    assert_eq!(for_user["data"]["message"]["seq"], 3);
    assert_eq!(for_user["data"]["message"]["rich"]["layout"], "card");
    let for_agent: serde_json::Value =
        serde_json::from_str(&server_frame(&event, Role::Agent, 5)).unwrap();
    assert!(for_agent["data"]["message"].get("rich").is_none());
    assert_eq!(for_agent["data"]["message"]["text"], "hi");
}

#[test]
fn typing_is_relayed_for_the_owner_and_staff_only() {
    let mut c = conversation();
    c.assignee = Some("ag-1".into());
    let from_owner = typing_relay(&c, &listener("eu-1", Role::EndUser), TypingState::Start, 5)
        .expect("the owner may type");
    assert_eq!(
        from_owner.audience.listeners,
        vec![listener("ag-1", Role::Agent)]
    );
    let from_agent = typing_relay(&c, &listener("ag-9", Role::Agent), TypingState::Stop, 5)
        .expect("staff may type");
    assert_eq!(
        from_agent.audience.listeners,
        vec![listener("eu-1", Role::EndUser)]
    );
    assert_eq!(
        typing_relay(&c, &listener("eu-2", Role::EndUser), TypingState::Start, 5),
        None
    );
}

#[test]
fn the_listed_frame_types_are_exactly_what_events_and_answers_are_called() {
    let c = conversation();
    let events = [
        Event::MessageCreated(Box::new(message(MessageKind::Text))),
        Event::MessageRedacted(Box::new(message(MessageKind::Text))),
        Event::ConversationUpdated(Box::new(c.clone())),
        Event::Typing {
            conversation_id: "c1".into(),
            author_id: "a".into(),
            state: TypingState::Start,
            instant: 1,
        },
        Event::Read {
            conversation_id: "c1".into(),
            author_id: "a".into(),
            seq: 1,
        },
        Event::OfferCreated(offer("ag-1", "o1")),
        Event::OfferWithdrawn(offer("ag-1", "o1")),
    ];
    let mut named: Vec<String> = events.iter().map(|e| e.type_name().to_string()).collect();
    for answer in [pong_frame(1), error_frame(400, "invalid_frame", "x", 1)] {
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        named.push(answer["type"].as_str().unwrap().to_string());
    }
    assert_eq!(named, SERVER_FRAME_TYPES);
    for action in CLIENT_ACTIONS {
        let frame = match *action {
            "ping" => json!({"action": "ping"}),
            "typing" => json!({"action": "typing", "conversation_id": "c", "state": "stop"}),
            _ => json!({"action": action, "conversation_id": "c"}),
        };
        assert!(parse_client_frame(&frame.to_string()).is_ok(), "{action}");
    }
}

#[test]
fn client_frames_are_parsed_strictly() {
    assert_eq!(
        parse_client_frame(r#"{"action":"ping"}"#),
        Ok(ClientFrame::Ping {})
    );
    assert_eq!(
        parse_client_frame(r#"{"action":"typing","conversation_id":"c1","state":"start"}"#),
        Ok(ClientFrame::Typing {
            conversation_id: "c1".into(),
            state: TypingState::Start
        })
    );
    for bad in [
        "not json",
        r#"{"action":"dance"}"#,
        r#"{"action":"ping","extra":1}"#,
        r#"{"action":"subscribe"}"#,
        r#"{"action":"typing","conversation_id":"c1","state":"maybe"}"#,
    ] {
        assert_eq!(parse_client_frame(bad), Err(FrameError::Malformed), "{bad}");
    }
    let huge = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(1 << 20));
    assert_eq!(parse_client_frame(&huge), Err(FrameError::TooLarge));
}

#[test]
fn a_redaction_reaches_the_messages_readers_and_a_notes_stays_with_staff() {
    let c = conversation();
    for (kind, end_user_told) in [
        (MessageKind::Text, true),
        (MessageKind::InternalNote, false),
    ] {
        let before = message(kind);
        let after = crate::rules::redacted(
            &before,
            crate::model::Redaction {
                reason: crate::model::RedactionReason::Redacted,
                by: "ag-1".into(),
                at: 9,
            },
        );
        let change = StoredChange {
            before: Some(Stored::Message(Box::new(before.clone()))),
            after: Some(Stored::Message(Box::new(after.clone()))),
        };
        assert_eq!(conversation_needed(&change), Some(("acct", "c1")));
        let deliveries = events_of(&change, Some(&c));
        assert_eq!(deliveries.len(), 1);
        let delivery = &deliveries[0];
        assert_eq!(delivery.event.id(), "redacted:c1:3");
        assert_eq!(
            may_receive(
                &listener("eu-1", Role::EndUser),
                &delivery.audience,
                &delivery.event
            ),
            end_user_told
        );
        let frame: serde_json::Value =
            serde_json::from_str(&server_frame(&delivery.event, Role::EndUser, 10)).unwrap();
        assert_eq!(frame["type"], "message.redacted");
        assert_eq!(frame["data"]["message"]["text"], serde_json::Value::Null);
        assert!(frame["data"]["message"]["redacted"].get("by").is_none());
        // Rewriting a tombstone again (or any other rewrite) tells nobody anything.
        let again = StoredChange {
            before: Some(Stored::Message(Box::new(after.clone()))),
            after: Some(Stored::Message(Box::new(after))),
        };
        assert!(events_of(&again, Some(&c)).is_empty());
    }
}
