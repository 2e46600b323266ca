//! One station of a network: its parameters, and the model that solves it.
//!
//! The model follows from the parameters: M/M/c/K with a capacity, M/M/c
//! for exponential service, M/G/1 (exact means) for one server with other
//! service times, and M/G/c by the Allen–Cunneen approximation otherwise.

use num_complex::Complex64;
use serde::Serialize;

use crate::distribution::ServiceDistribution;
use crate::error::ModelError;
use crate::laplace::quantile_from_transform;
use crate::mg1::Mg1;
use crate::mmc::Mmc;
use crate::mmck::Mmck;
use crate::outcome::{Metrics, Outcome, Overload};
use crate::quantile::{Quantiles, check_level};
use crate::rng::SplitMix64;
use crate::validate::{check_rate, check_scv, check_servers};

/// The parameters of one station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationSpec {
    /// Station name, unique within a network.
    pub name: String,
    /// Servers c, at least 1.
    pub servers: u64,
    /// Service rate μ of one server, requests per second.
    pub service_rate: f64,
    /// Shape of the service-time distribution.
    pub distribution: ServiceDistribution,
    /// Capacity K (requests waiting plus in service), if limited.
    pub capacity: Option<u64>,
}

impl StationSpec {
    /// Builds an M/M/c station with unlimited capacity.
    pub fn exponential(name: impl Into<String>, servers: u64, service_rate_per_s: f64) -> Self {
        StationSpec {
            name: name.into(),
            servers,
            service_rate: service_rate_per_s,
            distribution: ServiceDistribution::Exponential,
            capacity: None,
        }
    }

    /// Mean service time 1/μ, seconds.
    pub fn mean_service_time_s(&self) -> f64 {
        1.0 / self.service_rate
    }

    /// Checks the parameters: a finite positive μ, c ≥ 1, K ≥ c, a valid SCV.
    pub fn validate(&self) -> Result<(), ModelError> {
        check_rate("service rate μ", self.service_rate)?;
        check_servers(self.servers)?;
        check_scv(self.distribution.scv())?;
        if let Some(capacity) = self.capacity
            && capacity < self.servers
        {
            return Err(ModelError::CapacityBelowServers {
                capacity,
                servers: self.servers,
            });
        }
        Ok(())
    }

    /// Solves the station at arrival rate `arrival_rate_per_s` > 0.
    pub fn solve(&self, arrival_rate_per_s: f64) -> Result<Outcome<SolvedStation>, ModelError> {
        self.validate()?;
        if let Some(capacity) = self.capacity {
            let queue = Mmck::solve(
                arrival_rate_per_s,
                self.service_rate,
                self.servers,
                capacity,
            )?;
            return Ok(Outcome::Stable(SolvedStation::Mmck(queue)));
        }
        if self.distribution.is_exponential() {
            return Ok(
                match Mmc::solve(arrival_rate_per_s, self.service_rate, self.servers)? {
                    Outcome::Stable(queue) => Outcome::Stable(SolvedStation::Mmc(queue)),
                    Outcome::Unstable(overload) => Outcome::Unstable(overload),
                },
            );
        }
        if self.servers == 1 {
            let mean = self.mean_service_time_s();
            return Ok(
                match Mg1::solve(arrival_rate_per_s, mean, self.distribution)? {
                    Outcome::Stable(queue) => Outcome::Stable(SolvedStation::Mg1(queue)),
                    Outcome::Unstable(overload) => Outcome::Unstable(overload),
                },
            );
        }
        Ok(
            match Mmc::solve(arrival_rate_per_s, self.service_rate, self.servers)? {
                Outcome::Stable(queue) => Outcome::Stable(SolvedStation::Mgc(AllenCunneen {
                    base: queue,
                    distribution: self.distribution,
                })),
                Outcome::Unstable(overload) => Outcome::Unstable(overload),
            },
        )
    }

    /// Returns the overload report at `arrival_rate_per_s`, ignoring any capacity.
    pub fn overload_at(&self, arrival_rate_per_s: f64) -> Overload {
        Overload::new(arrival_rate_per_s, self.service_rate, self.servers)
    }
}

/// An M/G/c station approximated by Allen–Cunneen:
/// Wq ≈ Wq(M/M/c)·(1 + c_s²)/2. The probability of waiting is kept from
/// M/M/c and the conditional wait is taken as exponential with the matching
/// mean, so its quantiles are approximate too.
#[derive(Debug, Clone, PartialEq)]
pub struct AllenCunneen {
    base: Mmc,
    distribution: ServiceDistribution,
}

impl AllenCunneen {
    fn metrics(&self) -> Metrics {
        let mut metrics = self.base.metrics();
        let factor = (1.0 + self.distribution.scv()) / 2.0;
        metrics.mean_waiting_time *= factor;
        metrics.mean_queue_length *= factor;
        metrics.mean_sojourn_time = metrics.mean_waiting_time + 1.0 / self.base.service_rate();
        metrics.mean_number_in_system = metrics.arrival_rate * metrics.mean_sojourn_time;
        metrics
    }

    /// Rate of the exponential conditional wait.
    fn conditional_wait_rate(&self) -> f64 {
        self.base.probability_of_waiting() / self.metrics().mean_waiting_time
    }
}

/// A solved stable station.
#[derive(Debug, Clone, PartialEq)]
pub enum SolvedStation {
    /// Exponential service, unlimited queue: exact.
    Mmc(Mmc),
    /// Exponential service with capacity K: exact.
    Mmck(Mmck),
    /// One server, general service: exact (Pollaczek–Khinchine).
    Mg1(Mg1),
    /// Several servers, general service: approximate (Allen–Cunneen).
    Mgc(AllenCunneen),
}

impl SolvedStation {
    /// Kendall notation of the model, with "approx." when it is not exact.
    pub fn model(&self) -> &'static str {
        match self {
            SolvedStation::Mmc(_) => "M/M/c",
            SolvedStation::Mmck(_) => "M/M/c/K",
            SolvedStation::Mg1(_) => "M/G/1",
            SolvedStation::Mgc(_) => "M/G/c approx.",
        }
    }

    /// Returns the steady-state metrics.
    pub fn metrics(&self) -> Metrics {
        match self {
            SolvedStation::Mmc(queue) => queue.metrics(),
            SolvedStation::Mmck(queue) => queue.metrics(),
            SolvedStation::Mg1(queue) => queue.metrics(),
            SolvedStation::Mgc(queue) => queue.metrics(),
        }
    }

    /// Returns the Laplace–Stieltjes transform of the sojourn time.
    pub fn sojourn_time_transform(&self, s: Complex64) -> Complex64 {
        match self {
            SolvedStation::Mmc(queue) => queue.sojourn_time_transform(s),
            SolvedStation::Mmck(queue) => queue.sojourn_time_transform(s),
            SolvedStation::Mg1(queue) => queue.sojourn_time_transform(s),
            SolvedStation::Mgc(queue) => {
                let wait_probability = queue.base.probability_of_waiting();
                let rate = queue.conditional_wait_rate();
                let wait = (1.0 - wait_probability) + wait_probability * rate / (rate + s);
                let mean_service = 1.0 / queue.base.service_rate();
                wait * queue.distribution.transform(mean_service, s)
            }
        }
    }

    /// Returns the q-quantile of the sojourn time, seconds: closed form for
    /// M/M/c, numerical inversion of the transform otherwise.
    pub fn sojourn_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        match self {
            SolvedStation::Mmc(queue) => queue.sojourn_time_quantile(q),
            _ => {
                let mean = self.metrics().mean_sojourn_time;
                Ok(quantile_from_transform(
                    |s| self.sojourn_time_transform(s),
                    q,
                    mean,
                ))
            }
        }
    }

    /// Returns the standard quantiles of the sojourn time.
    pub fn sojourn_time_quantiles(&self) -> Quantiles {
        Quantiles::from_fn(|q| self.sojourn_time_quantile(q).unwrap_or(f64::NAN))
    }

    /// Draws one sojourn time, seconds, from the model's distribution.
    pub(crate) fn sample_sojourn_time(&self, spec: &StationSpec, rng: &mut SplitMix64) -> f64 {
        let mean_service = spec.mean_service_time_s();
        let service = rng.service_time(spec.distribution, mean_service);
        let wait = match self {
            SolvedStation::Mmc(queue) => {
                if rng.uniform() < queue.probability_of_waiting() {
                    let metrics = queue.metrics();
                    rng.exponential(metrics.mean_waiting_time / queue.probability_of_waiting())
                } else {
                    0.0
                }
            }
            SolvedStation::Mmck(queue) => {
                // Inverse-CDF draw on the waiting time's survival function.
                let u = rng.uniform();
                let mean = queue.metrics().mean_waiting_time.max(mean_service);
                crate::quantile::quantile_from_survival(|t| queue.waiting_time_survival(t), u, mean)
            }
            SolvedStation::Mg1(_) => {
                // Inverse-CDF draw on the inverted Pollaczek–Khinchine transform.
                let u = rng.uniform();
                let metrics = self.metrics();
                return quantile_from_transform(
                    |s| self.sojourn_time_transform(s),
                    u,
                    metrics.mean_sojourn_time,
                );
            }
            SolvedStation::Mgc(queue) => {
                if rng.uniform() < queue.base.probability_of_waiting() {
                    rng.exponential(1.0 / queue.conditional_wait_rate())
                } else {
                    0.0
                }
            }
        };
        wait + service
    }
}
