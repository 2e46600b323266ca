//! Ranking instance types for a CPU workload.
//!
//! The score is a heuristic, not a capacity model. With the workload's
//! demand in vCPUs (`p95 = p95_cpu_percent / 100`, `avg = avg_cpu_percent / 100`):
//!
//! - **capacity match** = min(v, r) / max(v, r), where v is the type's vCPUs
//!   and r = p95 / [`TARGET_UTILIZATION`] the vCPUs that keep the p95 load at
//!   80 %. It is 1 for an exact fit and falls for both too small and too big.
//! - **thread match** = min(t, v) / max(t, v) for t parallel threads: fewer
//!   vCPUs than threads makes threads queue, more leaves vCPUs idle.
//! - **burst match**: on a burstable type with baseline b vCPUs (v × baseline %),
//!   credits last while avg ≤ b, so the match is min(1, b / avg). A sustained
//!   workload gets half of that because it pays for a burst model it cannot use.
//!   On a fixed-performance type it is 1 for a sustained workload and
//!   [`FIXED_BURSTY_MATCH`] for a bursty one, which pays for idle capacity
//!   between bursts.
//!
//! score = 0.5 × capacity + 0.25 × thread + 0.25 × burst. Types are ranked by
//! score, then by vCPUs per dollar-hour.

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, InstanceType};
use crate::error::SizingError;

/// Share of the vCPUs that the p95 load should use: the CPU p95 warning limit.
pub const TARGET_UTILIZATION: f64 = 0.8;

/// Burst match of a fixed-performance type for a bursty workload.
pub const FIXED_BURSTY_MATCH: f64 = 0.75;

/// Scores closer than this count as equal, so the price decides.
const SCORE_TIE: f64 = 1e-9;

/// The CPU side of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProfile {
    /// Mean CPU usage in percent of one vCPU (250 = two and a half busy vCPUs).
    pub avg_cpu_percent: f64,
    /// 95th percentile of CPU usage, in percent of one vCPU.
    pub p95_cpu_percent: f64,
    /// Threads that run in parallel.
    pub threads: u32,
    /// Whether the load comes in bursts (idle between peaks) rather than sustained.
    pub bursty: bool,
}

impl WorkloadProfile {
    /// Checks the ranges: 0 ≤ avg ≤ p95, p95 > 0, threads ≥ 1.
    ///
    /// # Errors
    /// [`SizingError::InvalidWorkload`] naming the first value out of range.
    pub fn validate(&self) -> Result<(), SizingError> {
        let invalid = |field, value, expected| SizingError::InvalidWorkload {
            field,
            value,
            expected,
        };
        if !(self.p95_cpu_percent.is_finite() && self.p95_cpu_percent > 0.0) {
            return Err(invalid(
                "p95 CPU %",
                self.p95_cpu_percent,
                "must be above 0 (percent of one vCPU, 150 = 1.5 vCPUs)",
            ));
        }
        if !(self.avg_cpu_percent >= 0.0 && self.avg_cpu_percent <= self.p95_cpu_percent) {
            return Err(invalid(
                "average CPU %",
                self.avg_cpu_percent,
                "must be between 0 and the p95 CPU %",
            ));
        }
        if self.threads == 0 {
            return Err(invalid("thread count", 0.0, "must be at least 1"));
        }
        Ok(())
    }
}

/// One instance type with its score and the parts it is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedInstance {
    /// The instance type.
    pub instance: InstanceType,
    /// Weighted score, 0 to 1.
    pub score: f64,
    /// Capacity match, 0 to 1.
    pub capacity_match: f64,
    /// Thread match, 0 to 1.
    pub thread_match: f64,
    /// Burst match, 0 to 1.
    pub burst_match: f64,
    /// vCPUs per dollar-hour.
    pub vcpus_per_usd: f64,
}

/// Scores one instance type for `workload`, which must be valid.
pub fn score(instance: &InstanceType, workload: &WorkloadProfile) -> RankedInstance {
    let vcpus = f64::from(instance.vcpus);
    let required_vcpus = workload.p95_cpu_percent / 100.0 / TARGET_UTILIZATION;
    let avg_vcpus = workload.avg_cpu_percent / 100.0;

    let capacity_match = similarity(vcpus, required_vcpus);
    let thread_match = similarity(vcpus, f64::from(workload.threads));
    let burst_match = match instance.baseline_percent {
        Some(baseline_percent) => {
            let baseline_vcpus = vcpus * baseline_percent / 100.0;
            let credits_last = if avg_vcpus > 0.0 {
                (baseline_vcpus / avg_vcpus).min(1.0)
            } else {
                1.0
            };
            if workload.bursty {
                credits_last
            } else {
                0.5 * credits_last
            }
        }
        None if workload.bursty => FIXED_BURSTY_MATCH,
        None => 1.0,
    };

    RankedInstance {
        instance: instance.clone(),
        score: 0.5 * capacity_match + 0.25 * thread_match + 0.25 * burst_match,
        capacity_match,
        thread_match,
        burst_match,
        vcpus_per_usd: instance.vcpus_per_usd(),
    }
}

/// Ranks the catalog for `workload` and returns the best `count` types.
///
/// # Errors
/// [`SizingError::InvalidWorkload`] when the workload is out of range.
pub fn rank(
    catalog: &Catalog,
    workload: &WorkloadProfile,
    count: usize,
) -> Result<Vec<RankedInstance>, SizingError> {
    workload.validate()?;

    let mut ranked: Vec<RankedInstance> = catalog
        .instances
        .iter()
        .map(|instance| score(instance, workload))
        .collect();
    ranked.sort_by(|a, b| {
        if (a.score - b.score).abs() < SCORE_TIE {
            b.vcpus_per_usd.total_cmp(&a.vcpus_per_usd)
        } else {
            b.score.total_cmp(&a.score)
        }
    });
    ranked.truncate(count);
    Ok(ranked)
}

/// min / max of two non-negative numbers: 1 when equal, towards 0 as they part.
fn similarity(a: f64, b: f64) -> f64 {
    let larger = a.max(b);
    if larger == 0.0 {
        1.0
    } else {
        a.min(b) / larger
    }
}
