use super::*;
use crate::locale::Locale;
use crate::model::MessageKind;
use crate::routing::{with_assignment, with_offer, AgentStatus};
use crate::rules::{apply_message, hand_off, new_conversation};

const AGENT: &str = "agent-1";

fn agent(cap_messaging: u32, cap_email: u32, load_messaging: u32, load_email: u32) -> Agent {
    Agent {
        status: AgentStatus::Online,
        cap_messaging,
        cap_email,
        load_messaging,
        load_email,
        ..Agent::new("acct", AGENT, 0)
    }
}

fn offered() -> Conversation {
    let c = new_conversation("acct", "alice", &Settings::default(), 1_000);
    let c = hand_off(&c, None, 1_100).unwrap();
    let offer = Offer {
        account_id: "acct".into(),
        conversation_id: c.id.clone(),
        agent_id: AGENT.into(),
        offer_id: "o-1".into(),
        channel: CapacityChannel::Messaging,
        offered_at: 1_200,
        expires_at: 31_200,
    };
    with_offer(&c, &offer, 1_200)
}

fn assigned() -> Conversation {
    with_assignment(&offered(), 1_300).unwrap()
}

fn settings(routing: EndedSessionRouting, csat: bool) -> Settings {
    let mut s = Settings::default();
    s.messaging.ended_session_routing = routing;
    s.messaging.csat_on_session_end = csat;
    s
}

#[test]
fn a_transfer_releases_the_holders_slot_and_waits_for_its_target_keeping_its_age() {
    let current = assigned();
    let by = crate::model::Actor {
        role: crate::model::Role::Agent,
        id: AGENT.into(),
    };
    let change = transfer(
        &current,
        Some(&agent(3, 0, 1, 0)),
        &TransferTarget::Agent("agent-2".into()),
        by.clone(),
        2_000,
    )
    .unwrap();
    assert_eq!(
        change.capacity,
        Some(CapacityRelease {
            agent_id: AGENT.into(),
            from: CapacityChannel::Messaging,
            to: None
        })
    );
    let next = &change.conversation;
    assert!(needs_routing(next));
    assert_eq!(next.held_capacity, None);
    assert_eq!(next.transfer_to.as_deref(), Some("agent-2"));
    assert_eq!(WaitingEntry::for_conversation(next).since, 1_100);
    assert_eq!(next.latest_author(), Some(&by));
    // To a group: that group, anyone in it.
    let change = transfer(
        &offered(),
        Some(&agent(3, 0, 1, 0)),
        &TransferTarget::Group("tier2".into()),
        by.clone(),
        2_000,
    )
    .unwrap();
    assert_eq!(change.conversation.group.as_deref(), Some("tier2"));
    assert_eq!(
        change.withdrawn_offer.map(|o| o.offer_id).as_deref(),
        Some("o-1")
    );
    // A group no conversation can have is refused.
    assert!(matches!(
        transfer(
            &assigned(),
            None,
            &TransferTarget::Group(" tier2".into()),
            by.clone(),
            2_000
        ),
        Err(DomainError::InvalidField(_))
    ));
    // Not while the bot holds it, nor after the session ended.
    let bot = new_conversation("acct", "alice", &Settings::default(), 1_000);
    assert!(transfer(&bot, None, &TransferTarget::Group("x".into()), by, 2_000).is_err());
}

#[test]
fn ending_is_refused_while_the_setting_is_off() {
    let mut s = Settings::default();
    s.messaging.agents_can_end_sessions = false;
    let holder = agent(2, 0, 1, 0);
    assert_eq!(
        end_session(&assigned(), &s, Some(&holder), AGENT, 2_000),
        Err(DomainError::SessionEndingDisabled)
    );
}

#[test]
fn ending_releases_messaging_capacity_tells_the_user_and_hands_back_to_the_bot() {
    let c = assigned();
    let holder = agent(2, 0, 1, 0);
    let s = settings(EndedSessionRouting::Messaging, false);
    let change = end_session(&c, &s, Some(&holder), AGENT, 2_000)
        .unwrap()
        .unwrap();
    let next = &change.conversation;
    assert_eq!(next.session, SessionState::Ended);
    assert_eq!(next.control, Control::Bot);
    assert_eq!(next.assignee.as_deref(), Some(AGENT));
    assert_eq!(next.held_capacity, None);
    assert_eq!(next.revision, c.revision + 1);
    assert_eq!(
        change.capacity,
        Some(CapacityRelease {
            agent_id: AGENT.into(),
            from: CapacityChannel::Messaging,
            to: None
        })
    );
    assert!(change.frees_capacity());
    let notice = change.notice.unwrap();
    assert_eq!(notice.kind, MessageKind::System);
    assert_eq!(notice.session_no, c.session_no);
    assert_eq!(change.csat, None);
    // Ending again is harmless.
    assert_eq!(end_session(next, &s, Some(&holder), AGENT, 3_000), Ok(None));
}

#[test]
fn email_routing_moves_the_load_when_email_has_room_and_releases_it_otherwise() {
    let c = assigned();
    let s = settings(EndedSessionRouting::Email, true);
    let roomy = agent(2, 3, 1, 0);
    let change = end_session(&c, &s, Some(&roomy), AGENT, 2_000)
        .unwrap()
        .unwrap();
    assert_eq!(
        change.capacity.as_ref().unwrap().to,
        Some(CapacityChannel::Email)
    );
    assert_eq!(
        change.conversation.held_capacity,
        Some(CapacityChannel::Email)
    );
    assert!(change.frees_capacity());
    let csat = change.csat.unwrap();
    assert_eq!(csat.agent_id.as_deref(), Some(AGENT));
    assert_eq!(csat.end_user_id, "alice");
    let full = agent(2, 1, 1, 1);
    let change = end_session(&c, &s, Some(&full), AGENT, 2_000)
        .unwrap()
        .unwrap();
    assert_eq!(change.capacity.unwrap().to, None);
    assert_eq!(change.conversation.held_capacity, None);
}

#[test]
fn ending_withdraws_a_standing_offer_and_always_releases_its_capacity() {
    let c = offered();
    let s = settings(EndedSessionRouting::Email, false);
    let change = end_session(&c, &s, Some(&agent(2, 3, 1, 0)), AGENT, 2_000)
        .unwrap()
        .unwrap();
    assert_eq!(change.withdrawn_offer, c.offer);
    assert_eq!(change.capacity.unwrap().to, None);
    assert_eq!(change.conversation.offer, None);
    assert_eq!(change.conversation.assignee, None);
    assert_eq!(change.conversation.held_capacity, None);
}

#[test]
fn ending_a_waiting_conversation_takes_it_off_the_waiting_list() {
    let c = new_conversation("acct", "alice", &Settings::default(), 1_000);
    let c = hand_off(&c, None, 1_100).unwrap();
    let change = end_session(&c, &Settings::default(), None, AGENT, 2_000)
        .unwrap()
        .unwrap();
    assert_eq!(
        change.left_waiting,
        Some(WaitingEntry::for_conversation(&c))
    );
    assert_eq!(change.capacity, None);
    assert!(!change.frees_capacity());
}

#[test]
fn close_solves_ends_and_releases_email_capacity_left_by_an_end() {
    let s = settings(EndedSessionRouting::Email, false);
    let ended = end_session(&assigned(), &s, Some(&agent(2, 3, 1, 0)), AGENT, 2_000)
        .unwrap()
        .unwrap()
        .conversation;
    let change = close_ticket(&ended, Some(&agent(2, 3, 0, 1)), Locale::En, 3_000)
        .unwrap()
        .unwrap();
    assert_eq!(change.conversation.ticket_status, TicketStatus::Solved);
    assert_eq!(
        change.capacity,
        Some(CapacityRelease {
            agent_id: AGENT.into(),
            from: CapacityChannel::Email,
            to: None
        })
    );
    // The end user already heard the session end.
    assert_eq!(change.notice, None);
    let closed = change.conversation;
    assert_eq!(close_ticket(&closed, None, Locale::En, 4_000), Ok(None));
}

#[test]
fn close_of_a_running_session_tells_the_user() {
    let change = close_ticket(&assigned(), Some(&agent(2, 0, 1, 0)), Locale::En, 2_000)
        .unwrap()
        .unwrap();
    assert_eq!(change.conversation.session, SessionState::Ended);
    assert_eq!(change.conversation.control, Control::Bot);
    assert_eq!(
        change.notice.unwrap().client_message_id,
        format!("system.{TICKET_SOLVED_KEY}.s1")
    );
}

#[test]
fn a_new_session_releases_what_the_previous_ticket_held() {
    let s = settings(EndedSessionRouting::Email, false);
    let ended = end_session(&assigned(), &s, Some(&agent(2, 3, 1, 0)), AGENT, 2_000)
        .unwrap()
        .unwrap()
        .conversation;
    let fresh = apply_message(
        &ended,
        crate::model::AuthorRole::EndUser,
        MessageKind::Text,
        &s,
        3_000,
    )
    .unwrap();
    let change = start_new_session(&ended, fresh, Some(&agent(2, 3, 0, 1)));
    assert_eq!(change.capacity.unwrap().from, CapacityChannel::Email);
    assert_eq!(change.conversation.session_no, 2);
    assert_eq!(change.conversation.control, Control::Bot);
    assert_eq!(change.conversation.assignee, None);
}

#[test]
fn missing_load_is_not_released_twice() {
    // The agent's record shows nothing held (already released): no capacity step.
    let change = end_session(
        &assigned(),
        &Settings::default(),
        Some(&agent(2, 0, 0, 0)),
        AGENT,
        2_000,
    )
    .unwrap()
    .unwrap();
    assert_eq!(change.capacity, None);
    assert_eq!(change.conversation.held_capacity, None);
}

#[test]
fn closed_tickets_are_never_reopened_or_solved_again() {
    let mut c = assigned();
    c.ticket_status = TicketStatus::Closed;
    assert!(transition_ticket(&mut c, TicketStatus::Solved).is_err());
    assert!(transition_ticket(&mut c, TicketStatus::Open).is_err());
    assert_eq!(c.ticket_status, TicketStatus::Closed);
}
