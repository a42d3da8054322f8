//! The reports' percentiles: a log-bucketed histogram (DDSketch's mapping) whose buckets are
//! plain counters, so any rows merge by adding (stored packed: `packed`).
//!
//! Bucket `i ≥ 1` holds the durations `v` (milliseconds) with `γ^(i-1) < v ≤ γ^i`, where
//! `γ = (1 + α) / (1 - α)`; bucket 0 holds `v ≤ 1`. A bucket's estimate `2γ^i / (γ + 1)` is
//! within `α` of every value in it, so a percentile read from merged buckets is within
//! [`RELATIVE_ERROR`] of the exact nearest-rank percentile (above 1 ms). Thirty days fit in
//! about 540 buckets; a row holds only those it has seen.

use std::collections::BTreeMap;

/// The stated error bound of every percentile a report shows (2 %).
pub const RELATIVE_ERROR: f64 = 0.02;

fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// The bucket a duration in milliseconds falls in.
pub fn bucket_of(ms: i64) -> u32 {
    if ms <= 1 {
        return 0;
    }
    let index = ((ms as f64).ln() / gamma().ln()).ceil();
    // Above 1 ms the index is at least 1; i64::MAX ms is about 1,100.
    index.clamp(1.0, f64::from(u32::MAX)) as u32
}

/// What bucket `index` stands for, in milliseconds.
pub fn estimate_of(index: u32) -> f64 {
    if index == 0 {
        return 1.0;
    }
    let g = gamma();
    2.0 * g.powi(index as i32) / (g + 1.0)
}

/// Counts per bucket: one histogram, or the sum of many.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: BTreeMap<u32, i64>,
}

impl Histogram {
    pub fn add(&mut self, index: u32, count: i64) {
        if count > 0 {
            *self.buckets.entry(index).or_default() += count;
        }
    }

    pub fn record(&mut self, ms: i64) {
        self.add(bucket_of(ms), 1);
    }

    pub fn count(&self) -> i64 {
        self.buckets.values().sum()
    }

    /// The nearest-rank `q` percentile (`0 < q ≤ 1`), within [`RELATIVE_ERROR`]; `None` when
    /// empty.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as i64).clamp(1, count);
        let mut seen = 0;
        for (&index, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(estimate_of(index));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact nearest-rank percentile of sorted values.
    fn exact(sorted: &[i64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64
    }

    #[test]
    fn percentiles_of_ten_thousand_durations_are_within_the_stated_bound() {
        // A deterministic spread from 2 s to several hours, skewed as reply times are.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values: Vec<i64> = (0..10_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state % 1_000_000) as f64 / 1_000_000.0;
                (2_000.0 * (9.0 * unit * unit * unit).exp()) as i64
            })
            .collect();
        // Split across two "rows" and merged, as a report merges days.
        let (mut one, mut two) = (Histogram::default(), Histogram::default());
        for (i, v) in values.iter().enumerate() {
            if i % 3 == 0 {
                one.record(*v)
            } else {
                two.record(*v)
            }
        }
        let mut merged = Histogram::default();
        for (index, n) in one.buckets.iter().chain(two.buckets.iter()) {
            merged.add(*index, *n);
        }
        values.sort_unstable();
        assert_eq!(merged.count(), 10_000);
        for q in [0.5, 0.9, 0.99] {
            let (estimated, exact) = (merged.percentile(q).unwrap(), exact(&values, q));
            let error = (estimated - exact).abs() / exact;
            assert!(
                error <= RELATIVE_ERROR + 1e-9,
                "q {q}: {estimated} vs {exact} ({error})"
            );
        }
        // Positive control: a bucketing twice as coarse would miss the bound somewhere.
        let coarse = |v: i64| estimate_of(bucket_of(v) / 2 * 2);
        let off = values
            .iter()
            .map(|&v| (coarse(v) - v as f64).abs() / v as f64)
            .fold(0.0, f64::max);
        assert!(off > RELATIVE_ERROR, "{off}");
    }

    #[test]
    fn every_duration_is_within_the_bound_of_its_bucket() {
        for v in [2_i64, 3, 17, 999, 1_000, 60_000, 3_600_000, 2_592_000_000] {
            let e = estimate_of(bucket_of(v));
            assert!(
                (e - v as f64).abs() / v as f64 <= RELATIVE_ERROR + 1e-9,
                "{v}: {e}"
            );
        }
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(-5), 0);
        assert!(
            bucket_of(2_592_000_000) < 600,
            "thirty days in fewer than 600 buckets"
        );
        assert_eq!(Histogram::default().percentile(0.5), None);
    }
}
