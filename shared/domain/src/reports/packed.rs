//! A row's counters as they are stored: one JSON text, its histogram buckets as runs of
//! counts. A report reads thousands of rows, and a row of one counter per bucket is hundreds
//! of attributes (DynamoDB bills and the emulator works per attribute and byte): packed, a
//! busy agent's day is one attribute of about 1 KB.
//!
//! `{"c": {"handoffs": 3, …}, "h": {"first_reply": [[12, 1, 0, 2], [40, 1]], …}}`: the plain
//! counters by name; per measure, runs of consecutive buckets, each its first index then the
//! counts from there (a gap of more than [`MAX_GAP`] empty buckets starts a new run). A bucket
//! counted 0 is no bucket (a histogram ignores it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Measure;

/// Empty buckets written as zeros inside a run rather than starting a new one (a new run
/// costs about as much as three zeros).
const MAX_GAP: u32 = 3;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Packed {
    #[serde(default, rename = "c")]
    counters: BTreeMap<String, i64>,
    #[serde(default, rename = "h", skip_serializing_if = "BTreeMap::is_empty")]
    histograms: BTreeMap<String, Vec<Vec<i64>>>,
}

/// The measure and bucket a counter is, when it is one.
fn bucket_of_counter(name: &str) -> Option<(Measure, u32)> {
    Measure::ALL.into_iter().find_map(|measure| {
        let index: u32 = name
            .strip_prefix(measure.name())?
            .strip_prefix("_b")?
            .parse()
            .ok()?;
        // Only the exact name `Measure::bucket` writes ("_b07" is a plain counter).
        (measure.bucket(index) == name).then_some((measure, index))
    })
}

/// A row's counters packed into one text.
pub fn pack(counters: &BTreeMap<String, i64>) -> String {
    let mut packed = Packed::default();
    let mut buckets: BTreeMap<&'static str, BTreeMap<u32, i64>> = BTreeMap::new();
    for (name, count) in counters {
        match bucket_of_counter(name) {
            Some((measure, index)) if *count != 0 => {
                buckets
                    .entry(measure.name())
                    .or_default()
                    .insert(index, *count);
            }
            Some(_) => {}
            None => {
                packed.counters.insert(name.clone(), *count);
            }
        }
    }
    for (measure, counts) in buckets {
        let mut runs: Vec<Vec<i64>> = Vec::new();
        let mut next = None;
        for (index, count) in counts {
            match (runs.last_mut(), next) {
                (Some(run), Some(next)) if index - next <= MAX_GAP => {
                    run.extend(std::iter::repeat_n(0, (index - next) as usize));
                    run.push(count);
                }
                _ => runs.push(vec![i64::from(index), count]),
            }
            next = Some(index + 1);
        }
        packed.histograms.insert(measure.to_string(), runs);
    }
    serde_json::to_string(&packed).unwrap_or_default()
}

/// The counters `pack` packed; an error for a text it could not have written.
pub fn unpack(text: &str) -> Result<BTreeMap<String, i64>, String> {
    let packed: Packed = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut counters = packed.counters;
    for (name, runs) in packed.histograms {
        let measure = Measure::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| format!("no measure {name:?}"))?;
        for run in runs {
            let (start, counts) = run.split_first().ok_or("an empty run")?;
            let start = u32::try_from(*start).map_err(|_| format!("a run at {start}"))?;
            for (offset, count) in counts.iter().enumerate() {
                let index = u32::try_from(offset)
                    .ok()
                    .and_then(|o| start.checked_add(o))
                    .ok_or("a run beyond the last bucket")?;
                if *count != 0 {
                    counters.insert(measure.bucket(index), *count);
                }
            }
        }
    }
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::histogram::bucket_of;

    fn counters(pairs: &[(String, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn packing_gives_back_every_counter() {
        let first = Measure::FirstReply;
        let wait = Measure::WaitToAccept;
        let row = counters(&[
            ("handoffs".into(), 3),
            ("csat_score_sum".into(), 0),
            (first.sum(), 123_456),
            (first.bucket(0), 1),
            (first.bucket(12), 2),
            (first.bucket(13), 5),
            (first.bucket(16), 1),
            (first.bucket(400), 7),
            (wait.bucket(1_100), 1),
            // Not a bucket's exact name: kept as a plain counter.
            ("first_reply_b07".into(), 4),
        ]);
        let packed = pack(&row);
        assert_eq!(unpack(&packed).unwrap(), row, "{packed}");
        assert!(packed.contains(r#""first_reply":[[0,1],[12,2,5,0,0,1],[400,7]]"#));
    }

    #[test]
    fn a_busy_day_packs_into_about_a_kilobyte() {
        // 100 conversations of an agent's day, every duration from 10 s to about 1 h.
        let mut row = BTreeMap::new();
        for measure in Measure::ALL {
            for k in 0..100 {
                let ms = 10_000 + k * 36_000;
                *row.entry(measure.bucket(bucket_of(ms))).or_insert(0) += 1;
            }
            row.insert(measure.sum(), 180_000_000);
        }
        for name in ["conversations_started", "handoffs", "solved_by_agents"] {
            row.insert(name.to_string(), 100);
        }
        let packed = pack(&row);
        assert_eq!(unpack(&packed).unwrap(), row);
        let plain = serde_json::to_string(&row).unwrap();
        assert!(packed.len() < 1_200, "{} bytes: {packed}", packed.len());
        assert!(
            packed.len() * 2 < plain.len(),
            "{} vs {}",
            packed.len(),
            plain.len()
        );
    }

    #[test]
    fn a_text_pack_could_not_have_written_is_an_error() {
        for text in [
            "3",
            "not json",
            r#"{"h":{"first_reply":[[]]}}"#,
            r#"{"h":{"first_reply":[[-1,2]]}}"#,
            r#"{"h":{"nothing":[[1,2]]}}"#,
            r#"{"h":{"first_reply":[[4294967295,1,1]]}}"#,
        ] {
            assert!(unpack(text).is_err(), "{text}");
        }
        assert_eq!(unpack("{}").unwrap(), BTreeMap::new());
    }
}
