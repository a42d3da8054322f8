//! The reports' measures and rows (`domain::reports`), kept under `R#` partitions, which the
//! fan-out's stream filter (`A#`) never passes: counting sets off no further reaction.

use super::transactions::version_condition;
use super::*;
use std::collections::BTreeMap;

use domain::reports::packed::{pack, unpack};
use domain::reports::{ReportRow, SessionMeasure, Tally};

/// A measure is kept this long after its last count (a redelivery or a late rating comes
/// days later at most; the reactions queue keeps jobs 14 days).
const MEASURE_RETENTION_SECS: i64 = 90 * 24 * 3600;

fn measure_key(account_id: &str, conversation_id: &str, session_no: u32) -> (String, String) {
    (
        format!("R#{account_id}#C#{conversation_id}"),
        format!("S#{session_no:06}"),
    )
}

fn rows_pk(account_id: &str) -> String {
    format!("R#{account_id}")
}

/// `D#{day}#A{len}:{agent}#G{len}:{group}` (`A-`, `G-` for none): one row per (day, agent,
/// group), whatever characters the agent's id or the group hold.
fn row_sk(tally: &Tally) -> String {
    let part = |tag: char, value: &Option<String>| match value {
        Some(v) => format!("{tag}{}:{v}", v.len()),
        None => format!("{tag}-"),
    };
    format!(
        "D#{}#{}#{}",
        tally.day,
        part('A', &tally.agent_id),
        part('G', &tally.group)
    )
}

/// A row's counters, packed into one attribute (`domain::reports::packed`): a report reads
/// thousands of rows, and DynamoDB (the emulator far more) pays per attribute and byte.
const ROW_COUNTERS: &str = "counters";
/// What a report reads of a row: its key says its day, agent and group.
const ROW_PROJECTION: &str = "sk, counters";
/// A row moves one version at a time: it is read, added to and put back on condition.
const ROW_VERSION: &str = "version";
/// A row changed by another count between its read and its put is read again this often
/// before the count is a `Conflict` (the use case then starts over from the measure).
const ROW_ATTEMPTS: u32 = 4;

/// The day, agent and group `row_sk` wrote.
fn row_key_of(sk: &str) -> Option<(String, Option<String>, Option<String>)> {
    fn part(rest: &str, tag: char) -> Option<(Option<String>, &str)> {
        let rest = rest.strip_prefix(tag)?;
        if let Some(rest) = rest.strip_prefix('-') {
            return Some((None, rest));
        }
        let (len, rest) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let value = rest.get(..len)?;
        Some((Some(value.to_string()), &rest[len..]))
    }
    let rest = sk.strip_prefix("D#")?;
    let (day, rest) = rest.split_once('#')?;
    let (agent, rest) = part(rest, 'A')?;
    let (group, rest) = part(rest.strip_prefix('#')?, 'G')?;
    rest.is_empty().then(|| (day.to_string(), agent, group))
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn session_measure(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<SessionMeasure, StoreError> {
        let (pk, sk) = measure_key(account_id, conversation_id, session_no);
        match self.get(pk, sk).await? {
            Some(item) => decode(item),
            None => Ok(SessionMeasure::new(account_id, conversation_id, session_no)),
        }
    }

    async fn count_in_report(
        &self,
        measure: &SessionMeasure,
        tallies: &[Tally],
    ) -> Result<(), StoreError> {
        let (pk, sk) = measure_key(
            &measure.account_id,
            &measure.conversation_id,
            measure.session_no,
        );
        let mut item = encode(measure, pk, sk)?;
        let expires = chrono::Utc::now().timestamp() + MEASURE_RETENTION_SECS;
        item.insert(TTL_ATTRIBUTE.into(), n(expires));
        let previous = measure.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let (condition, value) = version_condition(previous);
        if tallies.is_empty() {
            return self.put_versioned(item, previous).await;
        }
        let measure_put = self.transact_put(item, condition, value)?;
        for _ in 0..ROW_ATTEMPTS {
            let mut items = vec![measure_put.clone()];
            for tally in tallies {
                let key = (rows_pk(&tally.account_id), row_sk(tally));
                let stored = self.get(key.0.clone(), key.1.clone()).await?;
                let (row, previous) = added_row(key, stored.as_ref(), tally)?;
                let (condition, value) = version_condition(previous);
                items.push(self.transact_put(row, condition, value)?);
            }
            match self.transact_items(items).await? {
                Transacted::Done => return Ok(()),
                // The measure moved: another count of this session got in first.
                Transacted::Cancelled(failed) if failed.first() == Some(&true) => {
                    return Err(StoreError::Conflict)
                }
                // Only a row moved (another session counted in it): read them again.
                Transacted::Cancelled(_) | Transacted::Contended => continue,
            }
        }
        Err(StoreError::Conflict)
    }

    async fn report_rows(
        &self,
        account_id: &str,
        (from, to): (&str, &str),
        limit: usize,
    ) -> Result<Vec<ReportRow>, StoreError> {
        // Read eventually consistent: half the units, and a report may lag its stream anyway.
        let to = format!("D#{to}#~");
        let items = self
            .query_range_read(
                rows_pk(account_id),
                (format!("D#{from}#"), &to),
                limit,
                (false, Some(ROW_PROJECTION)),
            )
            .await?;
        items.into_iter().map(row_of).collect()
    }
}

/// The row at `key` as `stored` holds it (nothing yet: `None`), with `tally` added: its next
/// item and the version it must still be at.
fn added_row(
    (pk, sk): (String, String),
    stored: Option<&Item>,
    tally: &Tally,
) -> Result<(Item, u64), StoreError> {
    let (mut counters, previous) = match stored {
        Some(item) => (counters_of(item)?, version_of(item)),
        None => (BTreeMap::new(), 0),
    };
    for (name, value) in &tally.counters {
        *counters.entry(name.clone()).or_insert(0) += value;
    }
    let item: Item = [
        (PARTITION_KEY.to_string(), s(pk)),
        (SORT_KEY.to_string(), s(sk)),
        (ROW_COUNTERS.to_string(), s(pack(&counters))),
        (ROW_VERSION.to_string(), n(previous + 1)),
    ]
    .into_iter()
    .collect();
    limits::check_item(&item)?;
    Ok((item, previous))
}

fn counters_of(item: &Item) -> Result<BTreeMap<String, i64>, StoreError> {
    match item.get(ROW_COUNTERS) {
        Some(AttributeValue::S(packed)) => {
            unpack(packed).map_err(|e| StoreError::Internal(format!("report row decoding: {e}")))
        }
        _ => Ok(BTreeMap::new()),
    }
}

fn version_of(item: &Item) -> u64 {
    match item.get(ROW_VERSION) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

impl DynamoStore {
    /// Writes `tally` as its whole row, replacing any there, with no measure and no
    /// transaction: for filling a table with rows in the bench (the emulator copies a whole
    /// table for each transaction), never for counting, which goes through `count_in_report`.
    pub async fn seed_report_row(&self, tally: &Tally) -> Result<(), StoreError> {
        let key = (rows_pk(&tally.account_id), row_sk(tally));
        let (item, _) = added_row(key, None, tally)?;
        self.put(item, None).await
    }
}

/// A stored row: its day, agent and group from its key, its counters unpacked.
fn row_of(item: Item) -> Result<ReportRow, StoreError> {
    let sk = match item.get(SORT_KEY) {
        Some(AttributeValue::S(sk)) => sk.as_str(),
        _ => "",
    };
    let (day, agent_id, group) =
        row_key_of(sk).ok_or_else(|| StoreError::Internal(format!("report row key {sk:?}")))?;
    Ok(ReportRow {
        day,
        agent_id,
        group,
        counters: counters_of(&item)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_key_gives_back_its_day_agent_and_group() {
        for (agent, group) in [
            (None, None),
            (Some("a#1:x"), Some("G-#billing")),
            (Some(""), Some("é:#G3:")),
        ] {
            let tally = Tally {
                account_id: "acct".into(),
                day: "2026-12-07".into(),
                agent_id: agent.map(str::to_string),
                group: group.map(str::to_string),
                counters: BTreeMap::new(),
            };
            let back = row_key_of(&row_sk(&tally));
            assert_eq!(
                back,
                Some((
                    "2026-12-07".to_string(),
                    agent.map(str::to_string),
                    group.map(str::to_string)
                ))
            );
        }
        assert_eq!(row_key_of("D#2026-12-07#A3:ab#G-"), None);
        assert_eq!(row_key_of("D#2026-12-07#A-#G-x"), None);
    }
}
