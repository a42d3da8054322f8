//! Business hours (spec "Satisfaction and hours"): when the account's team is at work, in the
//! account's own time zone (IANA, daylight saving included), with holidays; and the away
//! message a handoff outside them gets, once per session. The conversation still waits for
//! routing: the message only sets expectations.
//!
//! Time zones come from the IANA database bundled into the binary (`jiff`, compressed), so a
//! Lambda needs no `/usr/share/zoneinfo` and every function agrees on the rules.

use serde::{Deserialize, Serialize};

use crate::messages::system_message;
use crate::model::{Control, Conversation, Message, SessionState};

/// The `client_message_id` key of the away message (`system.away-message.s{n}`): one per session.
pub const AWAY_MESSAGE_KEY: &str = "away-message";

/// Limits an admin's schedule stays within.
pub const MAX_INTERVALS_PER_DAY: usize = 8;
pub const MAX_HOLIDAYS: usize = 366;
pub const MAX_AWAY_MESSAGE_CHARS: usize = 1_000;

/// One day's opening intervals, `[["09:00", "12:30"], ["13:30", "17:00"]]` (local time; `24:00`
/// may end a day).
pub type DayIntervals = Vec<[String; 2]>;

/// The week, day by day (a day with no interval is closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekSchedule {
    pub mon: DayIntervals,
    pub tue: DayIntervals,
    pub wed: DayIntervals,
    pub thu: DayIntervals,
    pub fri: DayIntervals,
    pub sat: DayIntervals,
    pub sun: DayIntervals,
}

impl WeekSchedule {
    fn days(&self) -> [(&'static str, &DayIntervals); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }

    fn of(&self, weekday: jiff::civil::Weekday) -> &DayIntervals {
        use jiff::civil::Weekday::*;
        match weekday {
            Monday => &self.mon,
            Tuesday => &self.tue,
            Wednesday => &self.wed,
            Thursday => &self.thu,
            Friday => &self.fri,
            Saturday => &self.sat,
            Sunday => &self.sun,
        }
    }
}

/// The `business_hours` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Off by default: an account is open around the clock until it says otherwise.
    pub enabled: bool,
    /// An IANA name (`Europe/Paris`).
    pub timezone: String,
    pub schedule: WeekSchedule,
    /// Closed all day, as dates in `timezone` (`YYYY-MM-DD`).
    pub holidays: Vec<String>,
}

impl Default for BusinessHours {
    /// Monday to Friday, 09:00 to 17:00 UTC, not enabled.
    fn default() -> Self {
        let office = || vec![["09:00".to_string(), "17:00".to_string()]];
        Self {
            enabled: false,
            timezone: "UTC".into(),
            schedule: WeekSchedule {
                mon: office(),
                tue: office(),
                wed: office(),
                thu: office(),
                fri: office(),
                sat: Vec::new(),
                sun: Vec::new(),
            },
            holidays: Vec::new(),
        }
    }
}

/// `HH:MM` as minutes since midnight; `24:00` only where a day may end.
fn minute_of_day(text: &str, may_be_end_of_day: bool) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    match (hours, minutes) {
        (0..=23, 0..=59) => Some(hours * 60 + minutes),
        (24, 0) if may_be_end_of_day => Some(24 * 60),
        _ => None,
    }
}

fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).ok()
}

impl BusinessHours {
    /// What is wrong with these hours, if anything (for a 422 naming the setting).
    pub fn problem(&self) -> Option<String> {
        if time_zone(&self.timezone).is_none() {
            return Some(format!(
                "business_hours.timezone `{}` is not an IANA time zone (such as Europe/Paris)",
                self.timezone
            ));
        }
        for (day, intervals) in self.schedule.days() {
            if intervals.len() > MAX_INTERVALS_PER_DAY {
                return Some(format!(
                    "business_hours.schedule.{day} holds at most {MAX_INTERVALS_PER_DAY} intervals"
                ));
            }
            for [start, end] in intervals {
                let (Some(from), Some(to)) =
                    (minute_of_day(start, false), minute_of_day(end, true))
                else {
                    return Some(format!(
                        "business_hours.schedule.{day}: times are HH:MM (00:00 to 24:00), got [{start:?}, {end:?}]"
                    ));
                };
                if from >= to {
                    return Some(format!(
                        "business_hours.schedule.{day}: [{start}, {end}] ends before it starts"
                    ));
                }
            }
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            return Some(format!(
                "business_hours.holidays holds at most {MAX_HOLIDAYS} dates"
            ));
        }
        for date in &self.holidays {
            if date.len() != 10 || date.parse::<jiff::civil::Date>().is_err() {
                return Some(format!(
                    "business_hours.holidays: `{date}` is not a date (YYYY-MM-DD)"
                ));
            }
        }
        None
    }

    /// Whether the team is at work at `at` (epoch ms). Hours not enabled are always open; so
    /// are hours that no longer check out (never refuse service over a stored typo).
    pub fn is_open(&self, at: i64) -> bool {
        if !self.enabled {
            return true;
        }
        let (Some(zone), Ok(instant)) = (
            time_zone(&self.timezone),
            jiff::Timestamp::from_millisecond(at),
        ) else {
            return true;
        };
        let local = instant.to_zoned(zone);
        let today = local.date().to_string();
        if self.holidays.contains(&today) {
            return false;
        }
        let now =
            u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
        self.schedule
            .of(local.weekday())
            .iter()
            .any(
                |[start, end]| match (minute_of_day(start, false), minute_of_day(end, true)) {
                    (Some(from), Some(to)) => from <= now && now < to,
                    _ => false,
                },
            )
    }
}

/// Whether `before` → `after` is the moment a session starts needing an agent: a handoff, or
/// a session that began under agents (bot off).
pub fn starts_waiting_for_agents(before: Option<&Conversation>, after: &Conversation) -> bool {
    if after.control != Control::Agent || after.session != SessionState::Active {
        return false;
    }
    match before {
        None => true,
        Some(before) => before.control != Control::Agent || before.session_no != after.session_no,
    }
}

/// The away message (`text`, `messaging.away_message`) `conversation`'s session gets when it
/// started waiting for agents at `waiting_since`, if the account was closed then by `hours`
/// and has one (once per session: its `client_message_id` names the session). Judged at the
/// change's own time, so a change delivered again later decides the same way.
pub fn away_message(
    conversation: &Conversation,
    hours: &BusinessHours,
    text: Option<&str>,
    waiting_since: i64,
    now: i64,
) -> Option<Message> {
    let text = text?;
    if hours.is_open(waiting_since) {
        return None;
    }
    Some(system_message(conversation, AWAY_MESSAGE_KEY, text, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23 (a Monday) at `hh:mm` UTC.
    fn monday_utc(hh: i64, mm: i64) -> i64 {
        1_795_392_000_000 + (hh * 60 + mm) * 60_000
    }

    fn paris_office() -> BusinessHours {
        BusinessHours {
            enabled: true,
            timezone: "Europe/Paris".into(),
            ..BusinessHours::default()
        }
    }

    #[test]
    fn hours_not_enabled_are_always_open() {
        let mut hours = paris_office();
        hours.enabled = false;
        hours.schedule.mon.clear();
        assert!(hours.is_open(monday_utc(3, 0)));
    }

    #[test]
    fn open_follows_the_schedule_in_the_accounts_time_zone() {
        let hours = paris_office();
        // Paris is UTC+1 in November: 09:00 there is 08:00 UTC.
        assert!(!hours.is_open(monday_utc(7, 59)));
        assert!(hours.is_open(monday_utc(8, 0)));
        assert!(hours.is_open(monday_utc(15, 59)));
        assert!(!hours.is_open(monday_utc(16, 0)), "17:00 in Paris closes");
        // Sunday 2026-11-22 noon UTC: closed all day.
        assert!(!hours.is_open(monday_utc(12, 0) - 24 * 3_600_000));
    }

    #[test]
    fn daylight_saving_moves_the_utc_opening() {
        let hours = paris_office();
        // Monday 2026-07-06: Paris is UTC+2, so 09:00 there is 07:00 UTC.
        let july_monday_utc_7 = 1_783_296_000_000 + 7 * 3_600_000;
        assert!(hours.is_open(july_monday_utc_7));
        assert!(!hours.is_open(july_monday_utc_7 - 60_000));
    }

    #[test]
    fn a_holiday_is_closed_all_day_by_the_local_date() {
        let mut hours = paris_office();
        hours.holidays = vec!["2026-11-23".into()];
        assert!(!hours.is_open(monday_utc(10, 0)));
        // 23:30 UTC on the 22nd is already the 23rd in Paris, and a Monday 00:30: closed anyway.
        hours.schedule.mon = vec![["00:00".into(), "24:00".into()]];
        assert!(!hours.is_open(monday_utc(0, 0) - 30 * 60_000));
        hours.holidays.clear();
        assert!(hours.is_open(monday_utc(0, 0) - 30 * 60_000));
    }

    #[test]
    fn bad_hours_are_named() {
        let check = |edit: fn(&mut BusinessHours)| {
            let mut hours = paris_office();
            edit(&mut hours);
            hours.problem()
        };
        assert_eq!(check(|_| {}), None);
        assert!(check(|h| h.timezone = "Mars/Olympus".into())
            .unwrap()
            .contains("timezone"));
        assert!(
            check(|h| h.schedule.tue = vec![["17:00".into(), "09:00".into()]])
                .unwrap()
                .contains("tue")
        );
        assert!(check(|h| h.schedule.wed = vec![["9:00".into(), "17:00".into()]]).is_some());
        assert!(check(|h| h.schedule.wed = vec![["24:00".into(), "24:00".into()]]).is_some());
        assert!(check(|h| h.holidays = vec!["2026-02-30".into()])
            .unwrap()
            .contains("holidays"));
        assert_eq!(
            check(|h| h.schedule.sun = vec![["00:00".into(), "24:00".into()]]),
            None
        );
    }
}
