//! What the benchmark harnesses share: percentiles over every timed call, printed one line
//! per measurement so runs compare side by side.

#![allow(dead_code)]

use std::time::Duration;

/// The `p` quantile (0..=1) of `sorted` samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints n, p50, p99 and max of `samples` under `name`; returns (p50, p99).
pub fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p50 = percentile(&samples, 0.50);
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<44} n={:<6} p50={:>9.1}µs p99={:>9.1}µs max={:>9.1}µs",
        samples.len(),
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    );
    (p50, p99)
}
