//! The M/M/c queue (and M/M/1 as c = 1) with FCFS service.
//!
//! Poisson arrivals at rate λ, c servers each serving at rate μ with
//! exponential service times, an unlimited FCFS queue. With offered load
//! a = λ/μ and utilization ρ = a/c < 1, and C the Erlang C probability of
//! waiting:
//!
//! - Lq = C·ρ/(1 − ρ), Wq = C/(cμ − λ), W = Wq + 1/μ, L = λ·W.
//! - P(Wq > t) = C·e^(−(cμ−λ)t).
//! - The sojourn time is Wq plus an independent Exp(μ) service, so with
//!   θ = cμ − λ and d = μ − θ:
//!   P(T > t) = e^(−μt)·(1 + C·μ·(e^(dt) − 1)/d), which for c = 1 reduces to
//!   e^(−(μ−λ)t).

use num_complex::Complex64;

use crate::erlang::{erlang_b, erlang_c, ln_factorial};
use crate::error::ModelError;
use crate::outcome::{Metrics, Outcome, Overload};
use crate::quantile::{Quantiles, check_level, quantile_from_survival};
use crate::validate::{check_rate, check_servers};

/// A stable M/M/c queue, solved.
#[derive(Debug, Clone, PartialEq)]
pub struct Mmc {
    arrival_rate: f64,
    service_rate: f64,
    servers: u64,
    wait_probability: f64,
}

impl Mmc {
    /// Solves an M/M/c queue with arrival rate λ = `arrival_rate_per_s`,
    /// service rate μ = `service_rate_per_s` per server, and `servers` servers.
    ///
    /// Returns [`Outcome::Unstable`] when λ ≥ c·μ, and an error when a rate is
    /// not a finite positive number or `servers` is 0.
    pub fn solve(
        arrival_rate_per_s: f64,
        service_rate_per_s: f64,
        servers: u64,
    ) -> Result<Outcome<Mmc>, ModelError> {
        check_rate("arrival rate λ", arrival_rate_per_s)?;
        check_rate("service rate μ", service_rate_per_s)?;
        check_servers(servers)?;

        let offered_load = arrival_rate_per_s / service_rate_per_s;
        if offered_load >= servers as f64 {
            return Ok(Outcome::Unstable(Overload::new(
                arrival_rate_per_s,
                service_rate_per_s,
                servers,
            )));
        }
        Ok(Outcome::Stable(Mmc {
            arrival_rate: arrival_rate_per_s,
            service_rate: service_rate_per_s,
            servers,
            wait_probability: erlang_c(servers, offered_load),
        }))
    }

    /// Arrival rate λ, per second.
    pub fn arrival_rate(&self) -> f64 {
        self.arrival_rate
    }

    /// Service rate μ of one server, per second.
    pub fn service_rate(&self) -> f64 {
        self.service_rate
    }

    /// Number of servers c.
    pub fn servers(&self) -> u64 {
        self.servers
    }

    /// Offered load a = λ/μ, erlangs.
    pub fn offered_load(&self) -> f64 {
        self.arrival_rate / self.service_rate
    }

    /// Utilization ρ = λ/(c·μ).
    pub fn utilization(&self) -> f64 {
        self.offered_load() / self.servers as f64
    }

    /// Erlang C: the probability that an arrival waits.
    pub fn probability_of_waiting(&self) -> f64 {
        self.wait_probability
    }

    /// Rate θ = cμ − λ of the conditional waiting time, per second.
    fn drain_rate(&self) -> f64 {
        self.servers as f64 * self.service_rate - self.arrival_rate
    }

    /// Returns the probability P0 that the station is empty.
    ///
    /// With S = Σ_{k≤c} a^k/k! and B the Erlang B probability,
    /// P0 = 1 / (S·(1 − B + B/(1 − ρ))), and ln S = ln(a^c/c!) − ln B, which
    /// stays finite where S itself would overflow. P0 underflows to 0 for
    /// offered loads of several hundred erlangs, which is its correct value to
    /// double precision.
    pub fn p0(&self) -> f64 {
        let offered_load = self.offered_load();
        let blocking = erlang_b(self.servers, offered_load);
        let ln_top_term = self.servers as f64 * offered_load.ln() - ln_factorial(self.servers);
        let ln_sum = ln_top_term - blocking.ln();
        let correction = 1.0 - blocking + blocking / (1.0 - self.utilization());
        (-ln_sum - correction.ln()).exp()
    }

    /// Returns the steady-state metrics.
    pub fn metrics(&self) -> Metrics {
        let rho = self.utilization();
        let mean_queue_length = self.wait_probability * rho / (1.0 - rho);
        let mean_waiting_time = self.wait_probability / self.drain_rate();
        let mean_sojourn_time = mean_waiting_time + 1.0 / self.service_rate;
        Metrics {
            arrival_rate: self.arrival_rate,
            throughput: self.arrival_rate,
            utilization: rho,
            p0: self.p0(),
            probability_of_waiting: self.wait_probability,
            probability_of_loss: 0.0,
            mean_queue_length,
            mean_number_in_system: self.arrival_rate * mean_sojourn_time,
            mean_waiting_time,
            mean_sojourn_time,
        }
    }

    /// Returns P(Wq > t) for a waiting time of `t_s` seconds.
    pub fn waiting_time_survival(&self, t_s: f64) -> f64 {
        if t_s < 0.0 {
            return 1.0;
        }
        self.wait_probability * (-self.drain_rate() * t_s).exp()
    }

    /// Returns P(T > t) for a sojourn time of `t_s` seconds.
    pub fn sojourn_time_survival(&self, t_s: f64) -> f64 {
        if t_s <= 0.0 {
            return 1.0;
        }
        let mu = self.service_rate;
        let difference = mu - self.drain_rate();
        let growth = if difference == 0.0 {
            t_s
        } else {
            (difference * t_s).exp_m1() / difference
        };
        ((-mu * t_s).exp() * (1.0 + self.wait_probability * mu * growth)).clamp(0.0, 1.0)
    }

    /// Returns the q-quantile of the waiting time, in seconds, for q in [0, 1).
    ///
    /// It is 0 for q ≤ 1 − C, since a share 1 − C of arrivals do not wait.
    pub fn waiting_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        let tail = 1.0 - q;
        if tail >= self.wait_probability {
            return Ok(0.0);
        }
        Ok((self.wait_probability / tail).ln() / self.drain_rate())
    }

    /// Returns the q-quantile of the sojourn time, in seconds, for q in [0, 1).
    pub fn sojourn_time_quantile(&self, q: f64) -> Result<f64, ModelError> {
        check_level(q)?;
        let mean = self.metrics().mean_sojourn_time;
        Ok(quantile_from_survival(
            |t| self.sojourn_time_survival(t),
            q,
            mean,
        ))
    }

    /// Returns the standard quantiles of the waiting time.
    pub fn waiting_time_quantiles(&self) -> Quantiles {
        Quantiles::from_fn(|q| self.waiting_time_quantile(q).unwrap_or(f64::NAN))
    }

    /// Returns the standard quantiles of the sojourn time.
    pub fn sojourn_time_quantiles(&self) -> Quantiles {
        Quantiles::from_fn(|q| self.sojourn_time_quantile(q).unwrap_or(f64::NAN))
    }

    /// Returns the Laplace–Stieltjes transform E[e^(−sT)] of the sojourn time.
    ///
    /// It is (1 − C + C·θ/(θ + s))·μ/(μ + s), with θ = cμ − λ.
    pub fn sojourn_time_transform(&self, s: Complex64) -> Complex64 {
        let theta = self.drain_rate();
        let wait = (1.0 - self.wait_probability) + self.wait_probability * theta / (theta + s);
        wait * self.service_rate / (self.service_rate + s)
    }
}
