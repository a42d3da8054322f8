//! `GET /v1/reports/messaging`: the report as JSON, or as CSV (`Accept: text/csv`).

use serde_json::{json, Value};

use crate::reports::histogram::RELATIVE_ERROR;
use crate::reports::{GroupBy, ReportLine, ReportQuery};

/// The field a line's key is shown under.
fn key_field(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::Day => "day",
        GroupBy::Agent => "agent_id",
        GroupBy::Group => "group",
    }
}

/// A line as the API shows it: its key under `key` (`day`, `agent_id` or `group`), the total
/// without one.
fn line_view(line: &ReportLine, key: Option<&str>) -> Value {
    let mut view = serde_json::to_value(line).unwrap_or(Value::Null);
    if let Some(object) = view.as_object_mut() {
        let value = object.remove("key").unwrap_or(Value::Null);
        if let Some(field) = key {
            object.insert(field.into(), value);
        }
    }
    view
}

/// The report as JSON: the query as understood, one row per key, and the total.
pub fn messaging_report_view(
    query: &ReportQuery,
    lines: &[ReportLine],
    total: &ReportLine,
    truncated: bool,
) -> Value {
    let field = key_field(query.group_by);
    json!({
        "from": query.from.to_string(),
        "to": query.to.to_string(),
        "tz": query.tz,
        "group_by": query.group_by,
        "percentile_relative_error": RELATIVE_ERROR,
        "rows": lines.iter().map(|l| line_view(l, Some(field))).collect::<Vec<_>>(),
        "total": line_view(total, None),
        "truncated": truncated,
    })
}

/// The CSV form: a header, then one line per row (no total). A text that a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn messaging_report_csv(query: &ReportQuery, lines: &[ReportLine]) -> String {
    let header = [
        key_field(query.group_by),
        "conversations_started",
        "handoffs",
        "bot_resolutions",
        "solved_by_agents",
        "first_reply_p50_ms",
        "first_reply_p90_ms",
        "first_replies",
        "wait_to_accept_p50_ms",
        "wait_to_accept_p90_ms",
        "accepts",
        "handle_time_average_ms",
        "handled",
        "one_touch_resolutions",
        "offers_timed_out",
        "csat_responses",
        "csat_average",
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |record: Vec<String>| writer.write_record(&record).is_ok();
    let mut ok = write(header.iter().map(|h| h.to_string()).collect());
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for line in lines {
        let key = line.key.clone().unwrap_or_default();
        let key = match key.chars().next() {
            Some('=' | '+' | '-' | '@') => format!("'{key}"),
            _ => key,
        };
        ok &= write(vec![
            key,
            line.conversations_started.to_string(),
            line.handoffs.to_string(),
            line.bot_resolutions.to_string(),
            line.solved_by_agents.to_string(),
            opt(line.first_reply.p50_ms),
            opt(line.first_reply.p90_ms),
            line.first_reply.count.to_string(),
            opt(line.wait_to_accept.p50_ms),
            opt(line.wait_to_accept.p90_ms),
            line.wait_to_accept.count.to_string(),
            opt(line.handle_time.average_ms),
            line.handle_time.count.to_string(),
            line.one_touch_resolutions.to_string(),
            line.offers_timed_out.to_string(),
            line.csat.responses.to_string(),
            line.csat.average.map(|a| a.to_string()).unwrap_or_default(),
        ]);
    }
    match writer.into_inner() {
        Ok(bytes) if ok => String::from_utf8(bytes).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{lines, ReportRow};

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let query = ReportQuery::parse(
            (Some("2026-03-01"), Some("2026-03-01")),
            Some("group"),
            None,
            "UTC",
            0,
        )
        .unwrap();
        let row = |group: &str| ReportRow {
            day: "2026-03-01".into(),
            agent_id: None,
            group: Some(group.into()),
            counters: [("handoffs".to_string(), 2)].into_iter().collect(),
        };
        let rows = [row("=HYPERLINK(\"x\")"), row("north, \"east\"")];
        let (lines, _) = lines(&rows, GroupBy::Group, &[]);
        let text = messaging_report_csv(&query, &lines);
        let body: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "\"'=HYPERLINK(\"\"x\"\")\",0,2,0,0,,,0,,,0,,0,0,0,0,",
                "\"north, \"\"east\"\"\",0,2,0,0,,,0,,,0,,0,0,0,0,",
            ]
        );
    }
}
