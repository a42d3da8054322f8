//! The reports' measures and rows (`domain::reports`).

use super::*;
use domain::reports::{ReportRow, SessionMeasure, Tally};

#[async_trait]
impl ReportStore for MemoryStore {
    async fn session_measure(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<SessionMeasure, StoreError> {
        let tables = self.lock()?;
        let key = (
            account_id.to_string(),
            conversation_id.to_string(),
            session_no,
        );
        Ok(tables
            .report_measures
            .get(&key)
            .cloned()
            .unwrap_or_else(|| SessionMeasure::new(account_id, conversation_id, session_no)))
    }

    async fn count_in_report(
        &self,
        measure: &SessionMeasure,
        tallies: &[Tally],
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let key = (
            measure.account_id.clone(),
            measure.conversation_id.clone(),
            measure.session_no,
        );
        let stored = tables.report_measures.get(&key).map_or(0, |m| m.version);
        if measure.version != stored + 1 {
            return Err(StoreError::Conflict);
        }
        tables.report_measures.insert(key, measure.clone());
        for tally in tallies {
            let row = (
                tally.account_id.clone(),
                tally.day.clone(),
                tally.agent_id.clone(),
                tally.group.clone(),
            );
            let counters = tables.report_rows.entry(row).or_default();
            for (name, n) in &tally.counters {
                *counters.entry(name.clone()).or_insert(0) += n;
            }
        }
        Ok(())
    }

    async fn report_rows(
        &self,
        account_id: &str,
        (from, to): (&str, &str),
        limit: usize,
    ) -> Result<Vec<ReportRow>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .report_rows
            .range((account_id.to_string(), from.to_string(), None, None)..)
            .take_while(|((a, day, _, _), _)| a == account_id && day.as_str() <= to)
            .take(limit)
            .map(|((_, day, agent_id, group), counters)| ReportRow {
                day: day.clone(),
                agent_id: agent_id.clone(),
                group: group.clone(),
                counters: counters.clone(),
            })
            .collect())
    }
}
