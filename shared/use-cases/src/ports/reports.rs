//! The reports' storage: one measure per conversation session and one row per (day, agent,
//! group), written together so a change counts once (`domain::reports`).

use async_trait::async_trait;

use crate::error::StoreError;
use domain::reports::{ReportRow, SessionMeasure, Tally};

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// The session's measure; a new one (version 0) when nothing was counted for it yet.
    async fn session_measure(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<SessionMeasure, StoreError>;

    /// Stores `measure` on condition that the stored one is still at `measure.version - 1`,
    /// and adds each of `tallies` (one per row) to its row, all or nothing (`Conflict` when the
    /// measure moved, or when other counts kept changing a row: counting again from the
    /// measure adds them once).
    async fn count_in_report(
        &self,
        measure: &SessionMeasure,
        tallies: &[Tally],
    ) -> Result<(), StoreError>;

    /// The rows of days `from..=to` (`YYYY-MM-DD`), by day, at most `limit`.
    async fn report_rows(
        &self,
        account_id: &str,
        days: (&str, &str),
        limit: usize,
    ) -> Result<Vec<ReportRow>, StoreError>;
}
