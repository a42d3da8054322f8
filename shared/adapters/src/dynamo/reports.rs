//! The reports' measures and rows (`domain::reports`), kept under `R#` partitions, which the
//! fan-out's stream filter (`A#`) never passes: counting sets off no further reaction.

use super::*;
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

const ROW_DAY: &str = "day";
const ROW_AGENT: &str = "agent_id";
const ROW_GROUP: &str = "group";

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
        tally: Option<&Tally>,
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
        let (condition, value) = if previous == 0 {
            ("attribute_not_exists(pk)", None)
        } else {
            ("#v = :previous", Some((":previous", n(previous))))
        };
        let Some(tally) = tally else {
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition);
            if let Some((name, value)) = value {
                put = put
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(name, value);
            }
            put.send().await.map_err(store_error)?;
            return Ok(());
        };
        let measure_put = self.transact_put(item, condition, value)?;
        self.transact(vec![measure_put, self.row_update(tally)?])
            .await
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
                false,
            )
            .await?;
        Ok(items.into_iter().map(row_of).collect())
    }
}

/// The update that adds a tally's counters to its row (created by the first add).
struct RowUpdate {
    key: (String, String),
    expression: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

fn row_update(tally: &Tally) -> RowUpdate {
    let mut sets = vec!["#day = :day".to_string()];
    let mut names = vec![("#day".to_string(), ROW_DAY.to_string())];
    let mut values = vec![(":day".to_string(), s(&tally.day))];
    for (name, attribute, value) in [
        ("agent", ROW_AGENT, &tally.agent_id),
        ("group", ROW_GROUP, &tally.group),
    ] {
        if let Some(value) = value {
            sets.push(format!("#{name} = :{name}"));
            names.push((format!("#{name}"), attribute.to_string()));
            values.push((format!(":{name}"), s(value)));
        }
    }
    let mut adds = Vec::new();
    for (i, (counter, value)) in tally.counters.iter().enumerate() {
        adds.push(format!("#c{i} :c{i}"));
        names.push((format!("#c{i}"), counter.clone()));
        values.push((format!(":c{i}"), n(value)));
    }
    RowUpdate {
        key: (rows_pk(&tally.account_id), row_sk(tally)),
        expression: format!("SET {} ADD {}", sets.join(", "), adds.join(", ")),
        names,
        values,
    }
}

impl DynamoStore {
    /// The row's update as a transaction's item.
    fn row_update(&self, tally: &Tally) -> Result<TransactWriteItem, StoreError> {
        let RowUpdate {
            key: (pk, sk),
            expression,
            names,
            values,
        } = row_update(tally);
        let update = Update::builder()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names.into_iter().collect()))
            .set_expression_attribute_values(Some(values.into_iter().collect()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Adds a tally to its row with no measure and no transaction: for filling a table with
    /// rows in the bench (the emulator copies a whole table for each transaction), never for
    /// counting, which must go through `count_in_report`.
    pub async fn seed_report_row(&self, tally: &Tally) -> Result<(), StoreError> {
        let RowUpdate {
            key: (pk, sk),
            expression,
            names,
            values,
        } = row_update(tally);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(pk))
            .key(SORT_KEY, s(sk))
            .update_expression(expression)
            .set_expression_attribute_names(Some(names.into_iter().collect()))
            .set_expression_attribute_values(Some(values.into_iter().collect()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

/// A stored row: its day, agent and group, and every number attribute as a counter.
fn row_of(item: Item) -> ReportRow {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let counters = item
        .iter()
        .filter(|(name, _)| ![ROW_DAY, ROW_AGENT, ROW_GROUP].contains(&name.as_str()))
        .filter_map(|(name, value)| match value {
            AttributeValue::N(v) => v.parse::<i64>().ok().map(|v| (name.clone(), v)),
            _ => None,
        })
        .collect();
    ReportRow {
        day: text(ROW_DAY).unwrap_or_default(),
        agent_id: text(ROW_AGENT),
        group: text(ROW_GROUP),
        counters,
    }
}
