//! A report's lines: stored rows summed per day, agent or group, and what each line shows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::histogram::Histogram;
use super::*;

/// How a report groups its rows (`group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Day,
    Agent,
    Group,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "agent" => Some(Self::Agent),
            "group" => Some(Self::Group),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Agent => "agent",
            Self::Group => "group",
        }
    }
}

/// A percentile pair and how many durations it is read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Average {
    pub average_ms: Option<i64>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub responses: i64,
    pub average: Option<f64>,
    pub distribution: BTreeMap<String, i64>,
}

/// One line of a report: what was counted for its key (a day, an agent, a group; `None` for
/// "no agent" or "no group").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLine {
    pub key: Option<String>,
    pub conversations_started: i64,
    pub handoffs: i64,
    pub bot_resolutions: i64,
    pub solved_by_agents: i64,
    pub first_reply: Percentiles,
    pub wait_to_accept: Percentiles,
    pub handle_time: Average,
    pub one_touch_resolutions: i64,
    pub offers_timed_out: i64,
    pub csat: Csat,
}

impl ReportLine {
    /// The line of summed counters.
    pub fn of(key: Option<String>, counters: &BTreeMap<String, i64>) -> Self {
        let get = |name: &str| counters.get(name).copied().unwrap_or(0);
        let histogram = |measure: Measure| {
            let prefix = format!("{}_b", measure.name());
            let mut h = Histogram::default();
            for (name, n) in counters.range(prefix.clone()..) {
                let Some(index) = name.strip_prefix(&prefix) else {
                    break;
                };
                if let Ok(index) = index.parse::<u32>() {
                    h.add(index, *n);
                }
            }
            h
        };
        let percentiles = |measure: Measure| {
            let h = histogram(measure);
            let at = |q: f64| h.percentile(q).map(|ms| ms.round() as i64);
            Percentiles {
                p50_ms: at(0.5),
                p90_ms: at(0.9),
                count: h.count(),
            }
        };
        let handled = histogram(Measure::HandleTime).count();
        let responses = get(CSAT_RESPONSES);
        let ratio = |sum: i64, n: i64| (n > 0).then(|| sum as f64 / n as f64);
        Self {
            key,
            conversations_started: get(CONVERSATIONS_STARTED),
            handoffs: get(HANDOFFS),
            bot_resolutions: get(BOT_RESOLUTIONS),
            solved_by_agents: get(SOLVED_BY_AGENTS),
            first_reply: percentiles(Measure::FirstReply),
            wait_to_accept: percentiles(Measure::WaitToAccept),
            handle_time: Average {
                average_ms: ratio(get(&Measure::HandleTime.sum()), handled)
                    .map(|ms| ms.round() as i64),
                count: handled,
            },
            one_touch_resolutions: get(ONE_TOUCH_RESOLUTIONS),
            offers_timed_out: get(OFFERS_TIMED_OUT),
            csat: Csat {
                responses,
                average: ratio(get(CSAT_SCORE_SUM), responses).map(|a| (a * 100.0).round() / 100.0),
                distribution: (1..=5)
                    .map(|s| (s.to_string(), get(&format!("csat_{s}"))))
                    .collect(),
            },
        }
    }
}

/// The report's lines: `rows` summed per key, in key order (every day of `days` for
/// `GroupBy::Day`, also those with nothing counted), and the total of all of them.
pub fn lines(
    rows: &[ReportRow],
    group_by: GroupBy,
    days: &[String],
) -> (Vec<ReportLine>, ReportLine) {
    let mut per_key: BTreeMap<Option<String>, BTreeMap<String, i64>> = BTreeMap::new();
    if group_by == GroupBy::Day {
        for day in days {
            per_key.entry(Some(day.clone())).or_default();
        }
    }
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        let key = match group_by {
            GroupBy::Day => Some(row.day.clone()),
            GroupBy::Agent => row.agent_id.clone(),
            GroupBy::Group => row.group.clone(),
        };
        let sums = per_key.entry(key).or_default();
        for (name, n) in &row.counters {
            *sums.entry(name.clone()).or_insert(0) += n;
            *total.entry(name.clone()).or_insert(0) += n;
        }
    }
    // An agent or group whose counts add up to nothing (a start that moved to its handoff's
    // group) has no line; every day of the range has one.
    let lines = per_key
        .iter()
        .filter(|(_, counters)| group_by == GroupBy::Day || counters.values().any(|n| *n != 0))
        .map(|(key, counters)| ReportLine::of(key.clone(), counters))
        .collect();
    (lines, ReportLine::of(None, &total))
}
