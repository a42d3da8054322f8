use super::*;
use crate::model::{Actor, Control, Role};
use crate::routing::{CapacityChannel, Offer};
use crate::rules::new_conversation;
use crate::settings::Settings;

const T0: i64 = 1_796_000_000_000; // 2026-11-30T00:53:20Z
const MIN: i64 = 60_000;

fn utc() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::UTC
}

fn change(before: &Conversation, after: &Conversation) -> StoredChange {
    StoredChange {
        before: Some(Stored::Conversation(Box::new(before.clone()))),
        after: Some(Stored::Conversation(Box::new(after.clone()))),
    }
}

fn agent_message(c: &Conversation, seq: u64, author: &str, at: i64) -> StoredChange {
    let mut m = crate::messages::system_message(c, "k", "Hello", at);
    m.author_role = AuthorRole::Agent;
    m.seq = seq;
    m.author_id = author.into();
    StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(m))),
    }
}

/// Counts every change in order against one measure per session; the row tallies added.
fn run(changes: &[StoredChange], measures: &mut BTreeMap<u32, SessionMeasure>) -> Vec<Tally> {
    let mut tallies = Vec::new();
    for change in changes {
        for seen in observations_of(change) {
            let measure = measures
                .entry(seen.session_no)
                .or_insert_with(|| SessionMeasure::new("acme", "c", seen.session_no));
            if let Some((next, added)) = count(measure, &seen, &utc()) {
                *measure = next;
                tallies.extend(added);
            }
        }
    }
    tallies
}

/// Tallies as the rows they would have added to (one each).
fn rows_of(tallies: &[Tally]) -> Vec<ReportRow> {
    tallies
        .iter()
        .map(|t| ReportRow {
            day: t.day.clone(),
            agent_id: t.agent_id.clone(),
            group: t.group.clone(),
            counters: t.counters.clone(),
        })
        .collect()
}

fn summed(tallies: &[Tally]) -> ReportLine {
    lines(&rows_of(tallies), GroupBy::Agent, &[]).1
}

#[test]
fn a_scripted_session_counts_each_thing_once_even_when_replayed() {
    let mut c0 = new_conversation("acme", "eu-1", &Settings::default(), T0);
    c0.group = Some("billing".into());
    let created = StoredChange {
        before: None,
        after: Some(Stored::Conversation(Box::new(c0.clone()))),
    };
    let mut handed = c0.clone();
    handed.control = Control::Agent;
    handed.handoff_at = Some(T0 + MIN);
    handed.updated_at = T0 + MIN;
    let mut offered = handed.clone();
    offered.offer = Some(Offer {
        account_id: "acme".into(),
        conversation_id: c0.id.clone(),
        agent_id: "slow".into(),
        offer_id: "o1".into(),
        channel: CapacityChannel::Messaging,
        offered_at: T0 + MIN,
        expires_at: T0 + 2 * MIN,
    });
    let mut timed_out = offered.clone();
    timed_out.offer = None;
    timed_out.updated_at = T0 + 2 * MIN;
    let mut accepted = timed_out.clone();
    accepted.assignee = Some("ana".into());
    accepted.updated_at = T0 + 4 * MIN; // waited 3 minutes
    let mut solved = accepted.clone();
    solved.ticket_status = TicketStatus::Solved;
    solved.session = SessionState::Ended;
    solved.updated_at = T0 + 20 * MIN;
    solved.revision += 1;
    solved.stamp(Actor {
        role: Role::Agent,
        id: "ana".into(),
    });
    let changes = vec![
        created,
        change(&c0, &handed),
        change(&handed, &offered),
        change(&offered, &timed_out),
        change(&timed_out, &accepted),
        // A bot message never counts; the agent's first reply comes 2 minutes after accept.
        agent_message(&accepted, 3, "ana", T0 + 6 * MIN),
        agent_message(&accepted, 4, "ana", T0 + 7 * MIN),
        change(&accepted, &solved),
    ];
    let mut measures = BTreeMap::new();
    let tallies = run(&changes, &mut measures);
    let line = summed(&tallies);
    assert_eq!(line.conversations_started, 1);
    assert_eq!(line.handoffs, 1);
    assert_eq!(line.offers_timed_out, 1);
    assert_eq!(line.solved_by_agents, 1);
    assert_eq!(line.one_touch_resolutions, 0, "two agent messages");
    assert_eq!(line.bot_resolutions, 0);
    let near = |got: Option<i64>, want: i64| {
        let got = got.unwrap() as f64;
        assert!(
            (got - want as f64).abs() <= want as f64 * histogram::RELATIVE_ERROR,
            "{got} vs {want}"
        );
    };
    near(line.first_reply.p50_ms, 5 * MIN);
    assert_eq!(line.first_reply.count, 1);
    near(line.wait_to_accept.p50_ms, 3 * MIN);
    assert_eq!(line.handle_time.average_ms, Some(16 * MIN));
    // Who: the timeout is the slow agent's, the rest Ana's, all in billing.
    let slow: Vec<&Tally> = tallies
        .iter()
        .filter(|t| t.agent_id.as_deref() == Some("slow"))
        .collect();
    assert_eq!(slow.len(), 1);
    assert!(tallies
        .iter()
        .all(|t| t.group.as_deref() == Some("billing")));

    // The same stream again: nothing new.
    assert!(run(&changes, &mut measures).is_empty());
}

#[test]
fn one_agent_message_is_a_one_touch_and_a_new_session_is_a_new_measure() {
    let mut c = new_conversation("acme", "eu-1", &Settings::default(), T0);
    c.control = Control::Agent;
    c.handoff_at = Some(T0);
    c.assignee = Some("ana".into());
    let mut solved = c.clone();
    solved.ticket_status = TicketStatus::Solved;
    solved.updated_at = T0 + 9 * MIN;
    solved.revision += 1;
    solved.stamp(Actor {
        role: Role::Agent,
        id: "ana".into(),
    });
    let mut next = solved.clone();
    next.session_no = 2;
    next.ticket_status = TicketStatus::Open;
    next.handoff_at = Some(T0 + 60 * MIN);
    next.updated_at = T0 + 60 * MIN;
    let changes = vec![
        agent_message(&c, 2, "ana", T0 + MIN),
        change(&c, &solved),
        change(&solved, &next),
        agent_message(&next, 5, "ana", T0 + 70 * MIN),
    ];
    let mut measures = BTreeMap::new();
    let line = summed(&run(&changes, &mut measures));
    assert_eq!(line.one_touch_resolutions, 1);
    assert_eq!(
        line.conversations_started, 1,
        "session 2 started (session 1's creation was not in this stream)"
    );
    assert_eq!(
        line.first_reply.count, 1,
        "session 1 had no handoff in its measure"
    );
    assert_eq!(measures[&2].first_reply_at, Some(T0 + 70 * MIN));
}

#[test]
fn a_ticket_solved_without_reaching_an_agent_is_a_bot_resolution_and_ratings_count_once() {
    let c = new_conversation("acme", "eu-1", &Settings::default(), T0);
    let mut solved = c.clone();
    solved.ticket_status = TicketStatus::Solved;
    solved.updated_at = T0 + MIN;
    let mut line = summed(&run(&[change(&c, &solved)], &mut BTreeMap::new()));
    assert_eq!((line.bot_resolutions, line.solved_by_agents), (1, 0));

    let request = crate::sessions::CsatRequest {
        account_id: "acme".into(),
        conversation_id: c.id.clone(),
        session_no: 1,
        ticket_id: c.ticket_id.clone(),
        end_user_id: "eu-1".into(),
        agent_id: Some("ana".into()),
        ended_by: "ana".into(),
        ended_at: T0,
        score: Some(4),
        comment: None,
        rated_at: Some(T0 + MIN),
        locale: None,
    };
    let rated = StoredChange {
        before: None,
        after: Some(Stored::Rating(Box::new(request))),
    };
    let mut measures = BTreeMap::new();
    line = summed(&run(&[rated.clone(), rated], &mut measures));
    assert_eq!(line.csat.responses, 1);
    assert_eq!(line.csat.average, Some(4.0));
    assert_eq!(line.csat.distribution["4"], 1);
}

#[test]
fn days_split_in_the_account_time_zone_across_a_dst_change() {
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    // Winter (UTC+1): 23:30 UTC is already the next day in Paris.
    assert_eq!(day_of(at("2026-03-28T23:30:00Z"), &paris), "2026-03-29");
    assert_eq!(day_of(at("2026-03-28T22:30:00Z"), &paris), "2026-03-28");
    // Summer (UTC+2) after the change that night: 22:30 UTC is the next day, 21:30 is not.
    assert_eq!(day_of(at("2026-03-29T22:30:00Z"), &paris), "2026-03-30");
    assert_eq!(day_of(at("2026-03-29T21:30:00Z"), &paris), "2026-03-29");
    assert_eq!(day_of(at("2026-03-29T22:30:00Z"), &utc()), "2026-03-29");
}

#[test]
fn a_transfer_neither_restarts_the_wait_nor_the_first_reply_and_the_handle_time_goes_to_the_last_agent(
) {
    let bot = new_conversation("acme", "eu-1", &Settings::default(), T0);
    let mut c = bot.clone();
    c.control = Control::Agent;
    c.handoff_at = Some(T0);
    let mut ana = c.clone();
    ana.assignee = Some("ana".into());
    ana.updated_at = T0 + MIN;
    let mut moved = ana.clone();
    moved.assignee = None;
    moved.transfer_to = Some("bruno".into());
    moved.updated_at = T0 + 5 * MIN;
    let mut bruno = moved.clone();
    bruno.assignee = Some("bruno".into());
    bruno.transfer_to = None;
    bruno.updated_at = T0 + 8 * MIN;
    let mut ended = bruno.clone();
    ended.session = SessionState::Ended;
    ended.updated_at = T0 + 21 * MIN;
    let changes = vec![
        change(&bot, &c),
        change(&c, &ana),
        agent_message(&ana, 2, "ana", T0 + 2 * MIN),
        change(&ana, &moved),
        change(&moved, &bruno),
        agent_message(&bruno, 4, "bruno", T0 + 9 * MIN),
        change(&bruno, &ended),
    ];
    let tallies = run(&changes, &mut BTreeMap::new());
    let line = summed(&tallies);
    assert_eq!(line.wait_to_accept.count, 1, "one wait per session");
    assert_eq!(line.first_reply.count, 1, "one first reply per session");
    assert_eq!(
        line.handle_time.average_ms,
        Some(20 * MIN),
        "from the first accept"
    );
    let handled: Vec<_> = tallies
        .iter()
        .filter(|t| t.counters.keys().any(|k| k.starts_with("handle_time")))
        .map(|t| t.agent_id.as_deref())
        .collect();
    assert_eq!(handled, [Some("bruno")]);
}

#[test]
fn a_start_counts_for_the_group_its_session_is_handed_off_in() {
    // Created with no group; an admin sets billing, then the end user asks for a person.
    let created = new_conversation("acme", "eu-1", &Settings::default(), T0);
    let mut grouped = created.clone();
    grouped.group = Some("billing".into());
    grouped.updated_at = T0 + MIN;
    let mut handed = grouped.clone();
    handed.control = Control::Agent;
    handed.handoff_at = Some(T0 + 2 * MIN);
    handed.updated_at = T0 + 2 * MIN;
    // Later moved to sales: the start stays where its handoff was.
    let mut moved = handed.clone();
    moved.group = Some("sales".into());
    moved.updated_at = T0 + 3 * MIN;
    let changes = vec![
        StoredChange {
            before: None,
            after: Some(Stored::Conversation(Box::new(created.clone()))),
        },
        change(&created, &grouped),
        change(&grouped, &handed),
        change(&handed, &moved),
    ];
    let mut measures = BTreeMap::new();
    let tallies = run(&changes, &mut measures);
    let (by_group, total) = lines(&rows_of(&tallies), GroupBy::Group, &[]);
    let started: Vec<_> = by_group
        .iter()
        .map(|l| (l.key.as_deref(), l.conversations_started, l.handoffs))
        .collect();
    assert_eq!(started, [(Some("billing"), 1, 1)], "{by_group:?}");
    assert_eq!(total.conversations_started, 1);
    // Replayed, nothing moves twice.
    assert!(run(&changes, &mut measures).is_empty());
}
