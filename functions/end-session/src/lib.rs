//! `end-session`: agents end messaging sessions (R20, R21, with R5 and R6) and close tickets
//! (R17), handing control back to the bot; the end user's next message starts a new session
//! (R22, in `ingest-message`).
//!
//! Routes (role `agent` or `admin` of the conversation's account):
//! - `POST /v1/conversations/{cid}/end` → 200 `{session: "ended", …}`
//! - `POST /v1/conversations/{cid}/close` → 200 `{ticket_status: "solved", …}`
//!
//! and the satisfaction survey an ended session may bring (R6):
//! - `POST /v1/conversations/{cid}/csat` `{score, comment?}` (the end user) → 201
//! - `GET /v1/reports/csat?from=&to=` (admins) → `{responses, average, distribution}`
//!
//! and the messaging report the change stream counts (`use_cases::reports`):
//! - `GET /v1/reports/messaging?from=&to=&group_by=&tz=` (admins) → `{rows, total, …}`, or CSV
//!   with `Accept: text/csv`
//!
//! Each is one atomic store step (`domain::sessions`), retried on concurrent changes, so a
//! retried or raced request never half-applies, never sends two notices or two CSAT requests,
//! and never releases capacity twice.

use http::StatusCode;
use serde::Deserialize;

use domain::model::Role;
use domain::now_ms;
use domain::surveys::{parse_report_bound, CsatAnswer, DEFAULT_REPORT_DAYS};
use domain::views::{
    csat_report_view, messaging_report_csv, messaging_report_view, rating_view,
    session_outcome_view,
};
use edge::api::{
    conversation_id, csv, json, parse_json, query_param, require_role, serve, wants_csv, ApiError,
    ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, END_SESSION};
use use_cases::auth::Principal;
use use_cases::backend::Backend;
use use_cases::reports::{messaging_report, ReportParams};
use use_cases::satisfaction::{report, submit};
use use_cases::sessions;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(END_SESSION, backend, &request, dispatch).await
}

/// Ending and closing take an empty body or `{}`; anything else is refused (400).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyRequest {}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    match route.operation() {
        Operation::SubmitCsat => {
            let answer: CsatAnswer = parse_json(request)?;
            let rated = submit(
                backend.store.as_ref(),
                &principal,
                &conversation_id(&route)?,
                answer,
                now_ms(),
            )
            .await?;
            Ok(json(StatusCode::CREATED, &rating_view(&rated)))
        }
        Operation::CsatReport => {
            let now = now_ms();
            let bound = |name: &'static str, end_of_day: bool, default: i64| {
                let given: Option<String> = query_param(request, name)?;
                match given {
                    None => Ok(default),
                    Some(text) => parse_report_bound(&text, end_of_day).ok_or_else(|| {
                        ApiError::invalid_request(format!(
                            "{name} is a date (YYYY-MM-DD) or an RFC 3339 time"
                        ))
                    }),
                }
            };
            let to = bound("to", true, now)?;
            let from = bound("from", false, to - DEFAULT_REPORT_DAYS * 24 * 3600 * 1000)?;
            let (report, truncated) =
                report(backend.store.as_ref(), &principal, (from, to)).await?;
            Ok(json(
                StatusCode::OK,
                &csat_report_view(&report, (from, to), truncated),
            ))
        }
        Operation::MessagingReport => {
            let params = ReportParams {
                from: query_param(request, "from")?,
                to: query_param(request, "to")?,
                group_by: query_param(request, "group_by")?,
                tz: query_param(request, "tz")?,
            };
            let report = messaging_report(backend, &principal, &params, now_ms()).await?;
            let query = &report.query;
            Ok(if wants_csv(request) {
                let name = format!(
                    "messaging-{}-{}-by-{}.csv",
                    query.from,
                    query.to,
                    query.group_by.as_str()
                );
                csv(messaging_report_csv(query, &report.lines), &name)
            } else {
                json(
                    StatusCode::OK,
                    &messaging_report_view(query, &report.lines, &report.total, report.truncated),
                )
            })
        }
        Operation::EndSession | Operation::CloseTicket => {
            // An end user closes only what the bot holds (`sessions::close`).
            let end_user_may = route.operation() == Operation::CloseTicket;
            if !(end_user_may && principal.role == Role::EndUser) {
                require_role(&principal, &[Role::Agent, Role::Admin])?;
            }
            let EmptyRequest {} = parse_json(request)?;
            let cid = &conversation_id(&route)?;
            let committed = if route.operation() == Operation::EndSession {
                sessions::end(backend, &principal, cid).await?
            } else {
                sessions::close(backend, &principal, cid).await?
            };
            Ok(json(
                StatusCode::OK,
                &session_outcome_view(&committed.conversation, committed.change.is_some()),
            ))
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
