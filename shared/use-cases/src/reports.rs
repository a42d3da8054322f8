//! Reports (#38): the stream reaction that counts what a stored change says happened
//! (`count_change`), and `GET /v1/reports/messaging` (`messaging_report`), which reads the
//! counted rows, never conversations.

use thiserror::Error;

use crate::auth::Principal;
use crate::error::StoreError;
use crate::ports::ReportStore;
use crate::Backend;
use domain::model::Role;
use domain::realtime::StoredChange;
use domain::reports::{
    count, counting_zone, lines, observations_of, Observation, ReportLine, ReportQuery,
    SessionMeasure, Zone,
};
use domain::DomainError;

/// A report reads at most this many rows (31 days of 100 agents in 30 groups).
pub const MAX_REPORT_ROWS: usize = 100_000;

/// A measure changed by a concurrent count is read again this often before the reaction
/// fails (and is retried from the reactions queue).
const MAX_COUNT_ATTEMPTS: u32 = 8;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("only admins read reports")]
    Forbidden,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts a stored change in the reports (a reaction, R31): each of its observations against
/// its session's measure, once. Answers how many rows it added to.
pub async fn count_change(backend: &Backend, change: &StoredChange) -> Result<usize, StoreError> {
    let seen = observations_of(change);
    let Some(first) = seen.first() else {
        return Ok(0);
    };
    let settings = backend.settings(&first.account_id).await?;
    let (_, tz) = counting_zone(&settings.business_hours.timezone);
    let mut added = 0;
    // A change's observations are all of one session: each starts from the measure the one
    // before it left, rather than reading it again.
    let mut known = None;
    for observation in &seen {
        let (rows, measure) = count_one(backend.store.as_ref(), observation, &tz, known).await?;
        added += rows;
        known = Some(measure);
    }
    Ok(added)
}

/// Counts one observation; answers the rows added to (0 to 3) and the session's measure as it
/// now stands. `known` is that measure when the caller just wrote it.
async fn count_one(
    store: &(impl ReportStore + ?Sized),
    seen: &Observation,
    tz: &Zone,
    known: Option<SessionMeasure>,
) -> Result<(usize, SessionMeasure), StoreError> {
    let is_this_session = |m: &SessionMeasure| {
        m.account_id == seen.account_id
            && m.conversation_id == seen.conversation_id
            && m.session_no == seen.session_no
    };
    let mut known = known.filter(is_this_session);
    for _ in 0..MAX_COUNT_ATTEMPTS {
        let measure = match known.take() {
            Some(measure) => measure,
            None => {
                store
                    .session_measure(&seen.account_id, &seen.conversation_id, seen.session_no)
                    .await?
            }
        };
        let Some((next, tallies)) = count(&measure, seen, tz) else {
            return Ok((0, measure));
        };
        match store.count_in_report(&next, &tallies).await {
            Ok(()) => return Ok((tallies.len(), next)),
            // Another count of this session got in first: read it again.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable(
        "the session's report measure kept changing".into(),
    ))
}

/// The query parameters as given (`from`, `to`, `group_by`, `tz`).
#[derive(Debug, Default, Clone)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
    pub tz: Option<String>,
}

/// A messaging report: its lines, their total, and whether rows were left out.
#[derive(Debug, Clone)]
pub struct MessagingReport {
    pub query: ReportQuery,
    pub lines: Vec<ReportLine>,
    pub total: ReportLine,
    pub truncated: bool,
}

/// `GET /v1/reports/messaging` (admins): the rows of the range, summed per day, agent or group.
pub async fn messaging_report(
    backend: &Backend,
    principal: &Principal,
    params: &ReportParams,
    now: i64,
) -> Result<MessagingReport, ReportError> {
    if principal.role != Role::Admin {
        return Err(ReportError::Forbidden);
    }
    let settings = backend.settings(&principal.account_id).await?;
    let query = ReportQuery::parse(
        (params.from.as_deref(), params.to.as_deref()),
        params.group_by.as_deref(),
        params.tz.as_deref(),
        &settings.business_hours.timezone,
        now,
    )?;
    let days = query.days();
    let (from, to) = (query.from.to_string(), query.to.to_string());
    let rows = backend
        .store
        .report_rows(&principal.account_id, (&from, &to), MAX_REPORT_ROWS)
        .await?;
    let truncated = rows.len() >= MAX_REPORT_ROWS;
    let (lines, total) = lines(&rows, query.group_by, &days);
    Ok(MessagingReport {
        query,
        lines,
        total,
        truncated,
    })
}
