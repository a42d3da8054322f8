//! Satisfaction surveys (R6, spec "Satisfaction and hours"): the `csat_request` message a
//! recorded [`CsatRequest`] turns into, the end user's one rating per session, and the
//! report over ratings.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::DomainError;
use crate::messages::{
    session_system_message, system_client_message_id, RichButton, RichContent, RichLayout,
    SessionOf,
};
use crate::model::{Message, MessageKind};
use crate::sessions::CsatRequest;
use crate::sessions::SESSION_ENDED_KEY;

/// The survey's key among system messages (its `client_message_id` is
/// `system.csat-request.s{session}`).
pub const CSAT_REQUEST_KEY: &str = "csat-request";
pub const CSAT_QUESTION: &str = crate::locale::EN.csat_question;
/// Payloads of the survey's buttons: `relay:csat:1` … `relay:csat:5` (the widget posts the
/// rating when one is pressed).
pub const CSAT_PAYLOAD_PREFIX: &str = "relay:csat:";
pub const MAX_CSAT_COMMENT_CHARS: usize = 1_000;

/// Whether `message` is the notice of an ended session, after which a recorded CSAT request
/// is sent (the fan-out watches for it on the change stream).
pub fn is_session_end_notice(message: &Message) -> bool {
    message.kind == MessageKind::System
        && message.client_message_id
            == system_client_message_id(SESSION_ENDED_KEY, message.session_no)
}

/// The `csat_request` system message of `request`: rich, one button per rating, in the
/// session the survey is about. Written once however often it is sent again (its
/// `client_message_id` names the session).
pub fn survey_message(request: &CsatRequest, now: i64) -> Message {
    let locale = request.locale.unwrap_or_default();
    let rich = RichContent {
        layout: RichLayout::Buttons,
        text: Some(locale.texts().csat_question.into()),
        items: Vec::new(),
        buttons: (1..=5)
            .map(|score| RichButton {
                label: score.to_string(),
                url: None,
                payload: Some(format!("{CSAT_PAYLOAD_PREFIX}{score}")),
            })
            .collect(),
    };
    let session = SessionOf {
        account_id: &request.account_id,
        conversation_id: &request.conversation_id,
        session_no: request.session_no,
        ticket_id: &request.ticket_id,
    };
    let mut message = session_system_message(&session, CSAT_REQUEST_KEY, &rich.render_text(), now);
    message.rich = serde_json::to_value(&rich).ok();
    message
}

/// The `client_message_id` of the survey sent for `session_no`.
pub fn survey_client_message_id(session_no: u32) -> String {
    system_client_message_id(CSAT_REQUEST_KEY, session_no)
}

/// Body of `POST /v1/conversations/{cid}/csat`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsatAnswer {
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The request rated with `answer`: 422 `invalid_field` for a score outside 1–5 or an
/// overlong comment, 409 `already_rated` when the session has its rating.
pub fn rate(
    request: &CsatRequest,
    answer: CsatAnswer,
    now: i64,
) -> Result<CsatRequest, DomainError> {
    let score = u8::try_from(answer.score)
        .ok()
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| DomainError::InvalidField("score must be 1 to 5".into()))?;
    let comment = answer
        .comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CSAT_COMMENT_CHARS)
    {
        return Err(DomainError::InvalidField(format!(
            "comment is limited to {MAX_CSAT_COMMENT_CHARS} characters"
        )));
    }
    if request.score.is_some() {
        return Err(DomainError::AlreadyRated);
    }
    Ok(CsatRequest {
        score: Some(score),
        comment,
        rated_at: Some(now),
        ..request.clone()
    })
}

/// A report covers this many days up to `to` unless `from` says otherwise.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// A report's bound: an RFC 3339 time, or a date (UTC) meaning its first millisecond, or with
/// `end_of_day` its last.
pub fn parse_report_bound(text: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(if end_of_day {
        start + 24 * 3600 * 1000 - 1
    } else {
        start
    })
}

/// `GET /v1/reports/csat`: how many rated, the average, and how many gave each score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CsatReport {
    pub responses: usize,
    pub average: Option<f64>,
    pub distribution: BTreeMap<String, usize>,
}

impl CsatReport {
    pub fn of(rated: &[CsatRequest]) -> Self {
        let mut distribution: BTreeMap<String, usize> =
            (1..=5).map(|s| (s.to_string(), 0)).collect();
        let scores: Vec<u8> = rated.iter().filter_map(|r| r.score).collect();
        for score in &scores {
            *distribution.entry(score.to_string()).or_default() += 1;
        }
        let average = (!scores.is_empty()).then(|| {
            let sum: u32 = scores.iter().map(|s| u32::from(*s)).sum();
            // Two decimals, as a report shows it.
            (f64::from(sum) / scores.len() as f64 * 100.0).round() / 100.0
        });
        Self {
            responses: scores.len(),
            average,
            distribution,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(session_no: u32) -> CsatRequest {
        CsatRequest {
            account_id: "a".into(),
            conversation_id: "c_1".into(),
            session_no,
            ticket_id: "t".into(),
            end_user_id: "alice".into(),
            agent_id: Some("bob".into()),
            locale: None,
            ended_by: "bob".into(),
            ended_at: 5,
            score: None,
            comment: None,
            rated_at: None,
        }
    }

    #[test]
    fn the_survey_offers_five_ratings_in_the_ended_session() {
        let survey = survey_message(&request(2), 9);
        assert_eq!(survey.session_no, 2);
        assert_eq!(survey.client_message_id, survey_client_message_id(2));
        let rich: RichContent = serde_json::from_value(survey.rich.unwrap()).unwrap();
        let payloads: Vec<_> = rich
            .buttons
            .iter()
            .filter_map(|b| b.payload.clone())
            .collect();
        assert_eq!(
            payloads,
            (1..=5)
                .map(|s| format!("relay:csat:{s}"))
                .collect::<Vec<_>>()
        );
        // Agents read it as text (R15).
        assert!(survey.text.unwrap().starts_with(CSAT_QUESTION));
    }

    #[test]
    fn a_session_is_rated_once_with_a_score_from_one_to_five() {
        let answer = |score, comment: Option<&str>| CsatAnswer {
            score,
            comment: comment.map(str::to_string),
        };
        for bad in [0, 6, -1, 300] {
            assert!(matches!(
                rate(&request(1), answer(bad, None), 1),
                Err(DomainError::InvalidField(_))
            ));
        }
        let long = "x".repeat(MAX_CSAT_COMMENT_CHARS + 1);
        assert!(rate(&request(1), answer(4, Some(&long)), 1).is_err());
        let rated = rate(&request(1), answer(4, Some("  quick  ")), 7).unwrap();
        assert_eq!(
            (rated.score, rated.comment.as_deref(), rated.rated_at),
            (Some(4), Some("quick"), Some(7))
        );
        assert_eq!(
            rate(&rated, answer(5, None), 8),
            Err(DomainError::AlreadyRated)
        );
    }

    #[test]
    fn report_bounds_are_dates_or_times() {
        assert_eq!(parse_report_bound("1970-01-02", false), Some(86_400_000));
        assert_eq!(parse_report_bound("1970-01-01", true), Some(86_399_999));
        assert_eq!(
            parse_report_bound("1970-01-01T00:00:01.5+00:00", true),
            Some(1_500)
        );
        for bad in ["yesterday", "2026-13-01", ""] {
            assert_eq!(parse_report_bound(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn the_report_averages_and_counts_each_score() {
        let rated: Vec<_> = [5, 4, 4, 1]
            .into_iter()
            .map(|s| CsatRequest {
                score: Some(s),
                ..request(1)
            })
            .collect();
        let report = CsatReport::of(&rated);
        assert_eq!(report.responses, 4);
        assert_eq!(report.average, Some(3.5));
        assert_eq!(report.distribution["4"], 2);
        assert_eq!(report.distribution["2"], 0);
        assert_eq!(CsatReport::of(&[]).average, None);
    }
}
