//! `GET /v1/reports/messaging?from=&to=&group_by=&tz=`: what a report asks for.

use jiff::civil::Date;
use jiff::ToSpan;

use super::lines::GroupBy;
use crate::DomainError;

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i32 = 366;
/// The range when none is given: the last 31 days, today included.
pub const DEFAULT_REPORT_DAYS: i32 = 31;

/// A checked report request: whole days in the zone the rows were counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: Date,
    pub to: Date,
    pub group_by: GroupBy,
    /// The zone the days are counted in: the account's (`business_hours.timezone`).
    pub tz: String,
}

/// The zone an account's days are counted in: its business hours' zone, else UTC.
pub fn counting_zone(timezone: &str) -> (String, jiff::tz::TimeZone) {
    match jiff::tz::TimeZone::get(timezone) {
        Ok(tz) => (timezone.to_string(), tz),
        Err(_) => ("UTC".into(), jiff::tz::TimeZone::UTC),
    }
}

impl ReportQuery {
    /// Checks the query's parameters: malformed ones are 400, a range or zone the rows cannot
    /// answer 422. `account_tz` is the account's counting zone; `now_ms` sets the default range.
    pub fn parse(
        (from, to): (Option<&str>, Option<&str>),
        group_by: Option<&str>,
        tz: Option<&str>,
        account_tz: &str,
        now_ms: i64,
    ) -> Result<Self, DomainError> {
        let (zone_name, zone) = counting_zone(account_tz);
        if let Some(asked) = tz {
            if jiff::tz::TimeZone::get(asked).is_err() {
                return Err(DomainError::InvalidRequest(format!(
                    "tz `{asked}` is not an IANA time zone (such as Europe/Paris)"
                )));
            }
            if asked != zone_name {
                return Err(DomainError::ReportZoneMismatch {
                    asked: asked.into(),
                    counted: zone_name,
                });
            }
        }
        let date = |name: &str, text: Option<&str>| -> Result<Option<Date>, DomainError> {
            text.map(|t| {
                // Only the four-digit-year form (jiff also reads signed six-digit years).
                let well_formed = t.len() == 10 && t.as_bytes()[4] == b'-';
                t.parse::<Date>()
                    .ok()
                    .filter(|_| well_formed)
                    .ok_or_else(|| {
                        DomainError::InvalidRequest(format!("{name} is a date (YYYY-MM-DD)"))
                    })
            })
            .transpose()
        };
        let today = jiff::Timestamp::from_millisecond(now_ms)
            .map(|t| t.to_zoned(zone).date())
            .map_err(|_| DomainError::InvalidRequest("no clock".into()))?;
        let to = date("to", to)?.unwrap_or(today);
        let from = match date("from", from)? {
            Some(from) => from,
            None => to
                .checked_sub((DEFAULT_REPORT_DAYS - 1).days())
                .map_err(|_| DomainError::InvalidRequest("to is too early".into()))?,
        };
        let group_by = match group_by {
            None => GroupBy::Day,
            Some(text) => GroupBy::parse(text).ok_or_else(|| {
                DomainError::InvalidRequest("group_by is day, agent or group".into())
            })?,
        };
        if from > to {
            return Err(DomainError::InvalidReportRange("from is after to".into()));
        }
        let days = from
            .until(to)
            .map(|span| span.get_days())
            .unwrap_or(i32::MAX);
        if days >= MAX_REPORT_DAYS {
            return Err(DomainError::InvalidReportRange(format!(
                "a report covers at most {MAX_REPORT_DAYS} days"
            )));
        }
        Ok(Self {
            from,
            to,
            group_by,
            tz: zone_name,
        })
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> Vec<String> {
        let mut days = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            days.push(day.to_string());
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }
}
