//! The M/M/c/K queue: c servers and room for K requests in all.
//!
//! An arrival that finds K requests present (waiting plus in service) is
//! lost. The state probabilities are p_n ∝ a^n/n! for n ≤ c and
//! p_n ∝ a^c/c!·ρ^(n−c) for c < n ≤ K, with a = λ/μ and ρ = a/c. They are
//! built from the ratios p_n/p_(n−1) in log space, so no factorial or power
//! overflows. The system is stable at any load.

use num_complex::Complex64;

use crate::error::ModelError;
use crate::outcome::Metrics;
use crate::quantile::{Quantiles, check_level, quantile_from_survival};
use crate::validate::{check_rate, check_servers};

/// An M/M/c/K queue, solved.
#[derive(Debug, Clone, PartialEq)]
pub struct Mmck {
    arrival_rate: f64,
    service_rate: f64,
    servers: u64,
    /// Probabilities p_0 ..= p_K of the number present.
    state_probabilities: Vec<f64>,
}

impl Mmck {
    /// Solves an M/M/c/K queue with arrival rate λ = `arrival_rate_per_s`,
    /// service rate μ = `service_rate_per_s` per server, `servers` = c and
    /// `capacity` = K ≥ c.
    ///
    /// Memory and time are O(K).
    pub fn solve(
        arrival_rate_per_s: f64,
        service_rate_per_s: f64,
        servers: u64,
        capacity: u64,
    ) -> Result<Mmck, ModelError> {
        check_rate("arrival rate λ", arrival_rate_per_s)?;
        check_rate("service rate μ", service_rate_per_s)?;
        check_servers(servers)?;
        if capacity < servers {
            return Err(ModelError::CapacityBelowServers { capacity, servers });
        }

        let offered_load = arrival_rate_per_s / service_rate_per_s;
        let mut log_weights = Vec::with_capacity(capacity as usize + 1);
        let mut log_weight = 0.0;
        log_weights.push(log_weight);
        for n in 1..=capacity {
            let busy = n.min(servers) as f64;
            log_weight += (offered_load / busy).ln();
            log_weights.push(log_weight);
        }

        let max_log = log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut state_probabilities: Vec<f64> =
            log_weights.iter().map(|w| (w - max_log).exp()).collect();
        let total: f64 = state_probabilities.iter().sum();
        for p in &mut state_probabilities {
            *p /= total;
        }

        Ok(Mmck {
            arrival_rate: arrival_rate_per_s,
            service_rate: service_rate_per_s,
            servers,
            state_probabilities,
        })
    }

    /// Capacity K.
    pub fn capacity(&self) -> u64 {
        self.state_probabilities.len() as u64 - 1
    }

    /// Probability p_n that `n` requests are present.
    pub fn state_probability(&self, n: u64) -> f64 {
        self.state_probabilities
            .get(n as usize)
            .copied()
            .unwrap_or(0.0)
    }

    /// Probability that an arrival is lost: p_K, by PASTA.
    pub fn probability_of_loss(&self) -> f64 {
        *self.state_probabilities.last().expect("K + 1 ≥ 1 states")
    }

    /// Throughput λ·(1 − p_K), per second.
    pub fn throughput(&self) -> f64 {
        self.arrival_rate * (1.0 - self.probability_of_loss())
    }

    /// Probability that an admitted request sees `n` present, for n < K.
    fn admitted_sees(&self, n: usize) -> f64 {
        self.state_probabilities[n] / (1.0 - self.probability_of_loss())
    }

    /// Returns the steady-state metrics; waiting times are those of admitted requests.
    pub fn metrics(&self) -> Metrics {
        let c = self.servers as usize;
        let throughput = self.throughput();
        let (mut number, mut queue) = (0.0, 0.0);
        for (n, p) in self.state_probabilities.iter().enumerate() {
            number += n as f64 * p;
            queue += n.saturating_sub(c) as f64 * p;
        }
        let k = self.state_probabilities.len() - 1;
        let waiting: f64 = (c..k).map(|n| self.admitted_sees(n)).sum();
        Metrics {
            arrival_rate: self.arrival_rate,
            throughput,
            utilization: throughput / (self.servers as f64 * self.service_rate),
            p0: self.state_probabilities[0],
            probability_of_waiting: waiting,
            probability_of_loss: self.probability_of_loss(),
            mean_queue_length: queue,
            mean_number_in_system: number,
            mean_waiting_time: queue / throughput,
            mean_sojourn_time: number / throughput,
        }
    }

    /// Returns P(Wq > t) for an admitted request and `t_s` seconds.
    ///
    /// A request that finds n ≥ c present waits for n − c + 1 departures at
    /// rate cμ, an Erlang(n − c + 1, cμ) time.
    pub fn waiting_time_survival(&self, t_s: f64) -> f64 {
        if t_s < 0.0 {
            return 1.0;
        }
        let c = self.servers as usize;
        let k = self.state_probabilities.len() - 1;
        let x = self.servers as f64 * self.service_rate * t_s;

        // P(Erlang(m, r) > t) = e^(−x)·Σ_{j<m} x^j/j!, accumulated as m grows.
        let mut term = (-x).exp();
        let mut erlang_tail = 0.0;
        let mut survival = 0.0;
        for (j, n) in (c..k).enumerate() {
            if j > 0 {
                term *= x / j as f64;
            }
            erlang_tail += term;
            survival += self.admitted_sees(n) * erlang_tail;
        }
        survival.clamp(0.0, 1.0)
    }

    /// Returns the q-quantile of the waiting time of admitted requests, in seconds.
    pub fn waiting_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        let mean = self
            .metrics()
            .mean_waiting_time
            .max(1.0 / self.service_rate);
        Ok(quantile_from_survival(
            |t| self.waiting_time_survival(t),
            q,
            mean,
        ))
    }

    /// Returns the standard quantiles of the waiting time.
    pub fn waiting_time_quantiles(&self) -> Quantiles {
        Quantiles::from_fn(|q| self.waiting_time_quantile(q).unwrap_or(f64::NAN))
    }

    /// Returns the Laplace–Stieltjes transform of the sojourn time of admitted requests.
    pub fn sojourn_time_transform(&self, s: Complex64) -> Complex64 {
        let c = self.servers as usize;
        let k = self.state_probabilities.len() - 1;
        let drain = self.servers as f64 * self.service_rate;
        let one_departure = drain / (drain + s);

        let mut wait: Complex64 = (0..c.min(k))
            .map(|n| self.admitted_sees(n))
            .sum::<f64>()
            .into();
        let mut departures = one_departure;
        for n in c..k {
            wait += self.admitted_sees(n) * departures;
            departures *= one_departure;
        }
        wait * self.service_rate / (self.service_rate + s)
    }
}
