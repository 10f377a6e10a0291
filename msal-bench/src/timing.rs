//! Time-bounded batch timing shared by the msal-rs runner, with the same rules the Python and
//! Node runners in `bench/peers/` follow:
//!
//! 1. warm up for a while (at least one call);
//! 2. pick a batch size so one batch lasts about [`BATCH_TARGET`] (one call per batch when a
//!    call is slower than that);
//! 3. run batches until [`Plan::min_time`] has passed and at least [`Plan::min_batches`] ran;
//! 4. report the median and 90th percentile of the per-call cost of each batch.

use std::time::{Duration, Instant};

/// How long one batch should take.
pub const BATCH_TARGET: Duration = Duration::from_millis(10);

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Warm-up time before measuring.
    pub warmup: Duration,
    /// Keep running batches until this much time was spent measuring...
    pub min_time: Duration,
    /// ...and at least this many batches ran.
    pub min_batches: usize,
}

/// What a measurement found, in microseconds per call.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Median over batches of the per-call cost.
    pub median_us: f64,
    /// 90th percentile over batches of the per-call cost.
    pub p90_us: f64,
    /// The cheapest batch's per-call cost.
    pub min_us: f64,
    /// Calls per batch.
    pub batch_size: u64,
    /// Batches measured.
    pub batches: usize,
    /// Calls measured (warm-up excluded).
    pub iterations: u64,
}

/// The batch size that makes a batch last about [`BATCH_TARGET`] when one call costs `per_call`.
pub fn batch_size(per_call: Duration) -> u64 {
    let per_call = per_call.as_nanos().max(1);
    (BATCH_TARGET.as_nanos() / per_call).clamp(1, 1_000_000) as u64
}

/// The `q` quantile (0..=1) of `sorted`, by the nearest-rank method.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "no samples");
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarise per-batch per-call costs (µs).
pub fn summarize(mut per_call_us: Vec<f64>, batch_size: u64) -> Summary {
    per_call_us.sort_by(f64::total_cmp);
    let batches = per_call_us.len();
    Summary {
        median_us: quantile(&per_call_us, 0.5),
        p90_us: quantile(&per_call_us, 0.9),
        min_us: per_call_us[0],
        batch_size,
        batches,
        iterations: batch_size * batches as u64,
    }
}

/// Run the plan over `run_batch(k)`, which performs the operation `k` times in a row (an async
/// caller enters its runtime once per batch, not once per call).
pub fn measure(plan: Plan, mut run_batch: impl FnMut(u64)) -> Summary {
    let start = Instant::now();
    let mut warm = 0u64;
    while warm == 0 || start.elapsed() < plan.warmup {
        run_batch(1);
        warm += 1;
    }
    let size = batch_size(start.elapsed() / warm as u32);
    let mut samples = Vec::new();
    let measuring = Instant::now();
    while samples.len() < plan.min_batches || measuring.elapsed() < plan.min_time {
        let t = Instant::now();
        run_batch(size);
        samples.push(t.elapsed().as_secs_f64() * 1e6 / size as f64);
    }
    summarize(samples, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 5.0);
        assert_eq!(quantile(&v, 0.9), 9.0);
        assert_eq!(quantile(&[3.0], 0.9), 3.0);
    }

    #[test]
    fn batch_sizes() {
        assert_eq!(batch_size(Duration::from_secs(1)), 1);
        assert_eq!(batch_size(Duration::from_micros(10)), 1_000);
        assert_eq!(batch_size(Duration::ZERO), 1_000_000);
    }

    #[test]
    fn measures_at_least_min_batches() {
        let mut calls = 0u64;
        let plan = Plan {
            warmup: Duration::ZERO,
            min_time: Duration::ZERO,
            min_batches: 3,
        };
        let s = measure(plan, |k| calls += k);
        assert_eq!(s.batches, 3);
        assert_eq!(calls, 1 + s.iterations);
    }
}
