//! The M/G/1 queue by the Pollaczek–Khinchine formulas.
//!
//! Poisson arrivals at rate λ, one server, service times S with mean E[S]
//! and squared coefficient of variation c_s² (so E[S²] = E[S]²·(1 + c_s²)).
//! With ρ = λ·E[S] < 1:
//!
//! - Wq = λ·E[S²] / (2(1 − ρ)) = ρ·E[S]·(1 + c_s²) / (2(1 − ρ)),
//! - W = Wq + E[S], Lq = λ·Wq, L = λ·W, P0 = 1 − ρ, P(wait) = ρ.
//!
//! With exponential service it is M/M/1, with c_s² = 0 it is M/D/1. When the
//! distribution's shape is known, the waiting time's transform is the
//! Pollaczek–Khinchine transform W*(s) = (1 − ρ)·s / (s − λ·(1 − S*(s))), and
//! its quantiles come from numerical inversion.

use num_complex::Complex64;

use crate::distribution::ServiceDistribution;
use crate::error::ModelError;
use crate::laplace::quantile_from_transform;
use crate::outcome::{Metrics, Outcome, Overload};
use crate::quantile::{Quantiles, check_level};
use crate::validate::{check_duration, check_rate};

/// A stable M/G/1 queue, solved.
#[derive(Debug, Clone, PartialEq)]
pub struct Mg1 {
    arrival_rate: f64,
    mean_service_time: f64,
    distribution: ServiceDistribution,
}

impl Mg1 {
    /// Solves an M/G/1 queue with arrival rate `arrival_rate_per_s`, mean
    /// service time `mean_service_time_s` and the shape `distribution`.
    ///
    /// Returns [`Outcome::Unstable`] when λ·E[S] ≥ 1.
    pub fn solve(
        arrival_rate_per_s: f64,
        mean_service_time_s: f64,
        distribution: ServiceDistribution,
    ) -> Result<Outcome<Mg1>, ModelError> {
        check_rate("arrival rate λ", arrival_rate_per_s)?;
        check_duration("mean service time", mean_service_time_s)?;
        if let ServiceDistribution::Gamma { scv } = distribution {
            ServiceDistribution::gamma(scv)?;
        }

        if arrival_rate_per_s * mean_service_time_s >= 1.0 {
            return Ok(Outcome::Unstable(Overload::new(
                arrival_rate_per_s,
                1.0 / mean_service_time_s,
                1,
            )));
        }
        Ok(Outcome::Stable(Mg1 {
            arrival_rate: arrival_rate_per_s,
            mean_service_time: mean_service_time_s,
            distribution,
        }))
    }

    /// Utilization ρ = λ·E[S].
    pub fn utilization(&self) -> f64 {
        self.arrival_rate * self.mean_service_time
    }

    /// Returns the steady-state metrics.
    pub fn metrics(&self) -> Metrics {
        let rho = self.utilization();
        let scv = self.distribution.scv();
        let mean_waiting_time = rho * self.mean_service_time * (1.0 + scv) / (2.0 * (1.0 - rho));
        let mean_sojourn_time = mean_waiting_time + self.mean_service_time;
        Metrics {
            arrival_rate: self.arrival_rate,
            throughput: self.arrival_rate,
            utilization: rho,
            p0: 1.0 - rho,
            probability_of_waiting: rho,
            probability_of_loss: 0.0,
            mean_queue_length: self.arrival_rate * mean_waiting_time,
            mean_number_in_system: self.arrival_rate * mean_sojourn_time,
            mean_waiting_time,
            mean_sojourn_time,
        }
    }

    /// Returns the Pollaczek–Khinchine transform E[e^(−s·Wq)] of the waiting time.
    pub fn waiting_time_transform(&self, s: Complex64) -> Complex64 {
        let service = self.distribution.transform(self.mean_service_time, s);
        (1.0 - self.utilization()) * s / (s - self.arrival_rate * (1.0 - service))
    }

    /// Returns the transform of the sojourn time, waiting plus service.
    pub fn sojourn_time_transform(&self, s: Complex64) -> Complex64 {
        self.waiting_time_transform(s) * self.distribution.transform(self.mean_service_time, s)
    }

    /// Returns the q-quantile of the waiting time in seconds, by numerical inversion.
    ///
    /// It is 0 for q ≤ 1 − ρ, the share of arrivals that find the server idle.
    pub fn waiting_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        if q <= 1.0 - self.utilization() {
            return Ok(0.0);
        }
        let mean = self.metrics().mean_waiting_time;
        Ok(quantile_from_transform(
            |s| self.waiting_time_transform(s),
            q,
            mean,
        ))
    }

    /// Returns the q-quantile of the sojourn time in seconds, by numerical inversion.
    ///
    /// A deterministic service time shifts the waiting time by a constant, so
    /// its sojourn quantile is the waiting-time quantile plus E[S]. That avoids
    /// inverting a CDF with a jump at E[S], where the inversion converges poorly.
    pub fn sojourn_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        if self.distribution == ServiceDistribution::Deterministic {
            return Ok(self.waiting_time_quantile(q)? + self.mean_service_time);
        }
        let mean = self.metrics().mean_sojourn_time;
        Ok(quantile_from_transform(
            |s| self.sojourn_time_transform(s),
            q,
            mean,
        ))
    }

    /// Returns the standard quantiles of the sojourn time.
    pub fn sojourn_time_quantiles(&self) -> Quantiles {
        Quantiles::from_fn(|q| self.sojourn_time_quantile(q).unwrap_or(f64::NAN))
    }
}
