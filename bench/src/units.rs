//! Billed units from recorded AWS exchanges, by the published DynamoDB rules (moto's own
//! `ConsumedCapacity` is a constant, so it cannot be used):
//! - a write costs one write request unit per started KiB of the item, two per KiB inside a
//!   transaction; `UpdateItem`, `DeleteItem` and `ConditionCheck` are counted as one KiB (the
//!   items they touch here, agents, offers, waiting entries, are small), and each global
//!   secondary index the written item appears in costs one more unit per started KiB;
//! - a strongly consistent read costs one read request unit per started 4 KiB read (a query
//!   sums its items first, at least one unit); index queries are eventually consistent (half).
//!   Projections do not reduce the charge: our projected reads touch items under 4 KiB.
//!
//! SQS and S3 are billed per request.

use std::collections::BTreeMap;

use integration_tests::faults::Exchange;
use serde_json::Value;

/// The size DynamoDB bills for one attribute value (`{"S": …}` etc.).
pub fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => {
            let digits = n.chars().filter(char::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        ("B", Value::String(b)) => b.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(items)) => items
            .iter()
            .map(|i| value_size(&serde_json::json!({ &kind[..1]: i })))
            .sum(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(name, v)| name.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        ("L", Value::Array(items)) => 3 + items.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        _ => 0,
    }
}

/// The billed size of an item (attribute names plus values).
pub fn item_size(item: &serde_json::Map<String, Value>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn started(size: usize, unit: usize) -> f64 {
    size.div_ceil(unit).max(1) as f64
}

/// Write units of writing `item` (base table and the indexes it appears in).
fn put_units(item: &serde_json::Map<String, Value>) -> (f64, f64) {
    let size = item_size(item);
    let base = started(size, 1024);
    let indexes = ["gsi1pk", "gsi2pk"]
        .iter()
        .filter(|key| item.contains_key(**key))
        .count() as f64;
    (base, indexes * base)
}

/// What a set of exchanges costs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub write_units: f64,
    pub read_units: f64,
    pub dynamodb_requests: u64,
    pub sqs_requests: u64,
    pub s3_requests: u64,
    /// Requests by operation (`DynamoDB.PutItem`, `SQS.SendMessage`, `S3.PUT` …).
    pub operations: BTreeMap<String, u64>,
}

fn object(text: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

impl Tally {
    pub fn of(exchanges: &[Exchange]) -> Self {
        let mut tally = Tally::default();
        for exchange in exchanges {
            let target = exchange.target.as_deref().unwrap_or("");
            let operation = if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
                tally.dynamodb_requests += 1;
                tally.dynamodb(op, exchange);
                format!("DynamoDB.{op}")
            } else if let Some(op) = target.strip_prefix("AmazonSQS.") {
                tally.sqs_requests += 1;
                format!("SQS.{op}")
            } else {
                tally.s3_requests += 1;
                format!("S3.{}", exchange.method)
            };
            *tally.operations.entry(operation).or_default() += 1;
        }
        tally
    }

    fn dynamodb(&mut self, operation: &str, exchange: &Exchange) {
        let request = object(&exchange.request);
        let response = object(&exchange.response);
        let item_of = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
        match operation {
            "PutItem" => {
                let (base, indexes) = put_units(&item_of(request.get("Item")));
                self.write_units += base + indexes;
            }
            "UpdateItem" | "DeleteItem" => self.write_units += 1.0,
            "TransactWriteItems" => {
                for entry in request
                    .get("TransactItems")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match entry.get("Put") {
                        Some(put) => {
                            let (base, indexes) = put_units(&item_of(put.get("Item")));
                            self.write_units += 2.0 * base + indexes;
                        }
                        None => self.write_units += 2.0,
                    }
                }
            }
            "GetItem" => {
                // A read of a missing item is still billed one unit.
                let item = item_of(response.get("Item"));
                self.read_units += started(item_size(&item), 4096);
            }
            "Query" => {
                let size: usize = response
                    .get("Items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .map(item_size)
                    .sum();
                let units = started(size, 4096);
                // Index queries are always, and table queries by default, eventually
                // consistent: half a unit per 4 KB.
                let consistent = request.get("ConsistentRead") == Some(&Value::Bool(true));
                self.read_units += if consistent { units } else { units / 2.0 };
            }
            _ => {}
        }
    }

    /// This tally divided by `n` operations.
    pub fn per(&self, n: usize) -> Tally {
        let n64 = n.max(1) as u64;
        let nf = n.max(1) as f64;
        Tally {
            write_units: self.write_units / nf,
            read_units: self.read_units / nf,
            dynamodb_requests: self.dynamodb_requests / n64,
            sqs_requests: self.sqs_requests / n64,
            s3_requests: self.s3_requests / n64,
            operations: self
                .operations
                .iter()
                .map(|(k, v)| (k.clone(), v / n64))
                .collect(),
        }
    }
}

/// Published us-east-1 prices (on-demand), in dollars per one million units or requests.
pub mod prices {
    /// DynamoDB on-demand write request units.
    pub const DYNAMODB_WRITE_PER_MILLION: f64 = 0.625;
    /// DynamoDB on-demand read request units.
    pub const DYNAMODB_READ_PER_MILLION: f64 = 0.125;
    /// SQS standard queue requests (per 64 KiB chunk).
    pub const SQS_PER_MILLION: f64 = 0.40;
    /// S3 Standard PUT/POST/LIST and GET/HEAD requests (averaged by the caller per kind).
    pub const S3_PUT_PER_MILLION: f64 = 5.0;
    pub const S3_GET_PER_MILLION: f64 = 0.4;
    /// API Gateway HTTP API requests (first 300 million a month).
    pub const HTTP_API_PER_MILLION: f64 = 1.0;
    /// Lambda requests, and arm64 compute per GB-second.
    pub const LAMBDA_REQUESTS_PER_MILLION: f64 = 0.20;
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// API Gateway WebSocket APIs (us-east-1, first billion): messages (32 KB units) and
    /// connection minutes.
    pub const WEBSOCKET_MESSAGES_PER_MILLION: f64 = 1.0;
    pub const WEBSOCKET_CONNECTION_MINUTES_PER_MILLION: f64 = 0.25;
}

impl Tally {
    /// Dollars for one million of the operations this tally describes (per-operation tally),
    /// storage and data transfer excluded. `http_requests` and `lambda_invocations` per
    /// operation, each billed `lambda_ms` at `lambda_mb`.
    pub fn dollars_per_million(
        &self,
        http_requests: f64,
        lambda_invocations: f64,
        lambda_ms: f64,
        lambda_mb: f64,
    ) -> f64 {
        use prices::*;
        let s3_puts = self
            .operations
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "S3.PUT" | "S3.POST" | "S3.DELETE"))
            .map(|(_, v)| *v as f64)
            .sum::<f64>();
        let s3_gets = self.s3_requests as f64 - s3_puts;
        self.write_units * DYNAMODB_WRITE_PER_MILLION
            + self.read_units * DYNAMODB_READ_PER_MILLION
            + self.sqs_requests as f64 * SQS_PER_MILLION
            + s3_puts * S3_PUT_PER_MILLION
            + s3_gets * S3_GET_PER_MILLION
            + http_requests * HTTP_API_PER_MILLION
            + lambda_invocations
                * (LAMBDA_REQUESTS_PER_MILLION
                    + 1_000_000.0
                        * (lambda_mb / 1024.0)
                        * (lambda_ms / 1000.0)
                        * LAMBDA_ARM_GB_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_the_published_rules() {
        assert_eq!(value_size(&json!({"S": "héllo"})), 6);
        assert_eq!(value_size(&json!({"N": "12345"})), 4);
        assert_eq!(value_size(&json!({"BOOL": true})), 1);
        let item = json!({"pk": {"S": "A#x"}, "n": {"N": "7"}});
        assert_eq!(item_size(item.as_object().unwrap()), 2 + 3 + 1 + 2);
    }

    #[test]
    fn transactions_cost_double_and_indexes_cost_extra() {
        let small = json!({"pk": {"S": "a"}, "sk": {"S": "b"}});
        let indexed = json!({"pk": {"S": "a"}, "sk": {"S": "b"}, "gsi1pk": {"S": "c"}});
        let exchange = |target: &str, request: serde_json::Value| Exchange {
            method: "POST".into(),
            path: "/".into(),
            target: Some(target.into()),
            request: request.to_string(),
            status: 200,
            response: "{}".into(),
            started: std::time::Instant::now(),
            finished: std::time::Instant::now(),
        };
        let tally = Tally::of(&[
            exchange("DynamoDB_20120810.PutItem", json!({"Item": indexed})),
            exchange(
                "DynamoDB_20120810.TransactWriteItems",
                json!({"TransactItems": [{"Put": {"Item": small}}, {"Update": {}}]}),
            ),
            exchange("AmazonSQS.SendMessage", json!({})),
        ]);
        assert_eq!(tally.write_units, 2.0 + 4.0);
        assert_eq!(tally.sqs_requests, 1);
        assert_eq!(tally.dynamodb_requests, 2);
    }
}
