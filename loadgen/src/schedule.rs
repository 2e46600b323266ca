//! Poisson arrival schedules: when each request is due, computed before it is
//! sent and independent of how fast replies come back.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp};

use crate::error::PlanError;

/// The send times of a Poisson process at a fixed arrival rate λ, as offsets
/// from the start of the schedule.
///
/// Gaps between arrivals are independent exponential draws with mean 1/λ
/// from a seeded [`StdRng`], so the same seed and rate give the same
/// schedule. The iterator is lazy: it keeps only the last offset, so memory
/// does not grow with the number of arrivals.
#[derive(Debug)]
pub struct PoissonSchedule {
    gaps: Exp<f64>,
    rng: StdRng,
    offset_s: f64,
}

impl PoissonSchedule {
    /// Creates a schedule at `rate_per_s` arrivals per second.
    ///
    /// # Errors
    /// [`PlanError::InvalidRate`] unless `rate_per_s` is finite and above 0.
    pub fn new(rate_per_s: f64, seed: u64) -> Result<Self, PlanError> {
        if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
            return Err(PlanError::InvalidRate { rate_per_s });
        }
        let gaps = Exp::new(rate_per_s).map_err(|_| PlanError::InvalidRate { rate_per_s })?;

        Ok(Self {
            gaps,
            rng: StdRng::seed_from_u64(seed),
            offset_s: 0.0,
        })
    }

    /// Draws the next gap between arrivals, in seconds.
    pub fn next_gap_s(&mut self) -> f64 {
        self.gaps.sample(&mut self.rng)
    }
}

impl Iterator for PoissonSchedule {
    type Item = Duration;

    /// Returns the offset of the next arrival from the start of the schedule.
    fn next(&mut self) -> Option<Duration> {
        // Offsets accumulate in f64 seconds, not in rounded nanoseconds, so
        // rounding errors do not build up over millions of arrivals.
        self.offset_s += self.next_gap_s();
        Some(Duration::from_secs_f64(self.offset_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_bad_rates() {
        for rate_per_s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                PoissonSchedule::new(rate_per_s, 1).is_err(),
                "rate {rate_per_s} was accepted"
            );
        }
    }

    #[test]
    fn same_seed_same_offsets() {
        let first: Vec<_> = PoissonSchedule::new(100.0, 7).unwrap().take(50).collect();
        let second: Vec<_> = PoissonSchedule::new(100.0, 7).unwrap().take(50).collect();
        let other_seed: Vec<_> = PoissonSchedule::new(100.0, 8).unwrap().take(50).collect();

        assert_eq!(first, second);
        assert_ne!(first, other_seed);
    }

    #[test]
    fn offsets_increase() {
        let offsets: Vec<_> = PoissonSchedule::new(1000.0, 3)
            .unwrap()
            .take(1000)
            .collect();

        assert!(offsets.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
