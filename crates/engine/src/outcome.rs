//! The result of solving one station: stable with its metrics, or overloaded.

use serde::Serialize;

use crate::planning::{servers_for_stability, servers_for_utilization};

/// Target utilization used when none is given: 70 %.
pub const DEFAULT_TARGET_UTILIZATION: f64 = 0.7;

/// Either a solved stable station or the report of an overload.
///
/// An arrival rate at or above the service capacity c·μ has no steady state.
/// That is a normal answer for a capacity question, so it is a value and not
/// an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// λ < c·μ: the station has a steady state.
    Stable(T),
    /// λ ≥ c·μ: the queue grows without bound.
    Unstable(Overload),
}

impl<T> Outcome<T> {
    /// Returns the stable solution, if any.
    pub fn stable(self) -> Option<T> {
        match self {
            Outcome::Stable(solution) => Some(solution),
            Outcome::Unstable(_) => None,
        }
    }

    /// Returns true when the station is stable.
    pub fn is_stable(&self) -> bool {
        matches!(self, Outcome::Stable(_))
    }
}

/// Servers that an overloaded station needs to become stable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overload {
    /// Arrival rate λ, requests per second.
    pub arrival_rate: f64,
    /// Service rate μ of one server, requests per second.
    pub service_rate: f64,
    /// Servers c configured.
    pub servers: u64,
    /// Offered load a = λ/μ, in erlangs: the mean number of busy servers it would take.
    pub offered_load: f64,
    /// Utilization ρ = λ/(c·μ), at least 1 here.
    pub utilization: f64,
    /// Smallest c with λ < c·μ.
    pub min_servers_for_stability: u64,
    /// Smallest c with λ/(c·μ) at or below `target_utilization`.
    pub servers_for_target_utilization: u64,
    /// The target utilization used, in (0, 1).
    pub target_utilization: f64,
}

impl Overload {
    /// Builds the overload report for an offered load at or above `servers`.
    pub(crate) fn new(arrival_rate: f64, service_rate: f64, servers: u64) -> Self {
        let offered_load = arrival_rate / service_rate;
        Overload {
            arrival_rate,
            service_rate,
            servers,
            offered_load,
            utilization: offered_load / servers as f64,
            min_servers_for_stability: servers_for_stability(offered_load),
            servers_for_target_utilization: servers_for_utilization(
                offered_load,
                DEFAULT_TARGET_UTILIZATION,
            ),
            target_utilization: DEFAULT_TARGET_UTILIZATION,
        }
    }
}

/// Steady-state metrics of one station, in SI units.
///
/// The names follow the queueing literature: L and Lq are mean numbers of
/// requests, W and Wq mean times. Little's law ties them: L = X·W and
/// Lq = X·Wq, where X is the throughput.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Arrival rate λ offered to the station, requests per second.
    pub arrival_rate: f64,
    /// Throughput X: admitted (and so completed) requests per second.
    pub throughput: f64,
    /// Utilization ρ: the mean share of the c servers that are busy, X/(c·μ).
    pub utilization: f64,
    /// Probability P0 that the station is empty.
    pub p0: f64,
    /// Probability that an admitted request waits for a server.
    pub probability_of_waiting: f64,
    /// Probability that an arrival is rejected (non-zero only with a capacity K).
    pub probability_of_loss: f64,
    /// Lq: mean number of requests waiting.
    pub mean_queue_length: f64,
    /// L: mean number of requests present, waiting or in service.
    pub mean_number_in_system: f64,
    /// Wq: mean waiting time of an admitted request, seconds.
    pub mean_waiting_time: f64,
    /// W: mean sojourn time (waiting + service) of an admitted request, seconds.
    pub mean_sojourn_time: f64,
}

impl Metrics {
    /// Returns the largest relative gap in Little's law, L = X·W and Lq = X·Wq.
    ///
    /// A correct solution gives a value near machine precision.
    pub fn littles_law_residual(&self) -> f64 {
        let relative = |number: f64, time: f64| {
            let predicted = self.throughput * time;
            let scale = number.abs().max(predicted.abs()).max(f64::MIN_POSITIVE);
            (number - predicted).abs() / scale
        };
        relative(self.mean_number_in_system, self.mean_sojourn_time)
            .max(relative(self.mean_queue_length, self.mean_waiting_time))
    }
}
