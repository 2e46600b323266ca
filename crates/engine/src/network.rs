//! Open networks of stations linked by a call graph.
//!
//! A request enters at a station with external arrivals. Each visit to a
//! station i waits, is served, and then calls each downstream station j
//! independently with probability P[i][j], one call after another, before
//! it replies. So an edge's probability is the expected number of calls per
//! visit, and a station's outgoing probabilities may add up to more than 1.
//! Each station is then solved on its own with the arrival rate λ_i from the
//! traffic equations (the Jackson / Kleinrock independence assumption).

use num_complex::Complex64;
use serde::Serialize;

use crate::distribution::ServiceDistribution;
use crate::error::ModelError;
use crate::outcome::{DEFAULT_TARGET_UTILIZATION, Outcome, Overload};
use crate::planning::servers_for_utilization;
use crate::quantile::Quantiles;
use crate::response::{EndToEnd, QuantilePoint, ResponseOptions, end_to_end, spectrum_at};
use crate::station::{SolvedStation, StationSpec};
use crate::traffic::{Edge, solve_traffic};

/// An invalid network, or one with no finite solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// A station's parameters are invalid.
    #[error("station {station:?}: {source}")]
    Station {
        /// Station name.
        station: String,
        /// The error in its parameters.
        source: ModelError,
    },
    /// A station index that does not exist.
    #[error("station index {index} does not exist: the network has {count} stations")]
    UnknownStation {
        /// The index given.
        index: usize,
        /// How many stations there are.
        count: usize,
    },
    /// Two stations with one name.
    #[error("duplicate station name {0:?}: every station needs a unique name")]
    DuplicateName(String),
    /// A call probability outside [0, 1].
    #[error(
        "invalid probability {probability} for the call from {from:?} to {to:?}: it must lie in [0, 1]"
    )]
    InvalidProbability {
        /// Calling station.
        from: String,
        /// Called station.
        to: String,
        /// The value given.
        probability: f64,
    },
    /// An external arrival rate that is negative or not finite.
    #[error(
        "invalid external arrival rate {rate} at {station:?}: it must be a finite number ≥ 0 per second"
    )]
    InvalidExternalRate {
        /// Station name.
        station: String,
        /// The value given, per second.
        rate: f64,
    },
    /// No external arrivals at all.
    #[error("the network has no external arrivals: give at least one station a rate above 0")]
    NoExternalArrivals,
    /// A cycle of calls whose gain is 1 or more.
    #[error(
        "the calls among {stations:?} form a cycle whose gain is 1 or more, so a request would make \
         an infinite expected number of calls: lower a probability on that cycle"
    )]
    DivergentCycle {
        /// Stations on the cycle.
        stations: Vec<String>,
    },
}

/// An open network: stations, calls and external Poisson arrivals.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    stations: Vec<StationSpec>,
    calls: Vec<Vec<Edge>>,
    external_rates: Vec<f64>,
    /// Mean transport overhead of a call into each station, seconds, and its shape.
    transport_overheads: Vec<(f64, ServiceDistribution)>,
}

impl Network {
    /// Creates a network of `stations` with no calls and no external arrivals.
    ///
    /// Checks each station and that names are unique.
    pub fn new(stations: Vec<StationSpec>) -> Result<Network, NetworkError> {
        for (index, station) in stations.iter().enumerate() {
            station.validate().map_err(|source| NetworkError::Station {
                station: station.name.clone(),
                source,
            })?;
            if stations[..index]
                .iter()
                .any(|other| other.name == station.name)
            {
                return Err(NetworkError::DuplicateName(station.name.clone()));
            }
        }
        let count = stations.len();
        Ok(Network {
            stations,
            calls: vec![Vec::new(); count],
            external_rates: vec![0.0; count],
            transport_overheads: vec![(0.0, ServiceDistribution::Deterministic); count],
        })
    }

    /// Returns the stations, in the order given.
    pub fn stations(&self) -> &[StationSpec] {
        &self.stations
    }

    /// Returns the index of the station called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.stations
            .iter()
            .position(|station| station.name == name)
    }

    fn check_index(&self, index: usize) -> Result<(), NetworkError> {
        if index < self.stations.len() {
            Ok(())
        } else {
            Err(NetworkError::UnknownStation {
                index,
                count: self.stations.len(),
            })
        }
    }

    /// Adds a call: each visit of `from` calls `to` with `probability` in [0, 1].
    ///
    /// Calls are made in the order they are added.
    pub fn add_call(
        &mut self,
        from: usize,
        to: usize,
        probability: f64,
    ) -> Result<(), NetworkError> {
        self.check_index(from)?;
        self.check_index(to)?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(NetworkError::InvalidProbability {
                from: self.stations[from].name.clone(),
                to: self.stations[to].name.clone(),
                probability,
            });
        }
        self.calls[from].push(Edge { to, probability });
        Ok(())
    }

    /// Sets the external Poisson arrival rate into `station`, per second.
    pub fn set_external_rate(
        &mut self,
        station: usize,
        rate_per_s: f64,
    ) -> Result<(), NetworkError> {
        self.check_index(station)?;
        if !(rate_per_s.is_finite() && rate_per_s >= 0.0) {
            return Err(NetworkError::InvalidExternalRate {
                station: self.stations[station].name.clone(),
                rate: rate_per_s,
            });
        }
        self.external_rates[station] = rate_per_s;
        Ok(())
    }

    /// Sets a constant transport overhead for each call into `station`, in
    /// seconds: the caller's latency minus the station's handling time.
    pub fn set_transport_overhead(
        &mut self,
        station: usize,
        overhead_s: f64,
    ) -> Result<(), NetworkError> {
        self.set_transport_overhead_distribution(
            station,
            overhead_s,
            ServiceDistribution::Deterministic,
        )
    }

    /// Sets a random transport overhead for each call into `station`: mean
    /// `mean_s` seconds with the shape `distribution`. It changes the
    /// end-to-end quantiles but not the mean.
    pub fn set_transport_overhead_distribution(
        &mut self,
        station: usize,
        mean_s: f64,
        distribution: ServiceDistribution,
    ) -> Result<(), NetworkError> {
        self.check_index(station)?;
        self.transport_overheads[station] = (mean_s.max(0.0), distribution);
        Ok(())
    }

    /// Total external arrival rate Λ, per second.
    pub fn external_rate(&self) -> f64 {
        self.external_rates.iter().sum()
    }

    /// Returns a copy whose external rates are scaled to total `rate_per_s`,
    /// keeping each entry station's share.
    pub fn with_external_rate(&self, rate_per_s: f64) -> Result<Network, NetworkError> {
        let total = self.external_rate();
        if total <= 0.0 {
            return Err(NetworkError::NoExternalArrivals);
        }
        if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
            return Err(NetworkError::InvalidExternalRate {
                station: "all".into(),
                rate: rate_per_s,
            });
        }
        let mut scaled = self.clone();
        for rate in &mut scaled.external_rates {
            *rate *= rate_per_s / total;
        }
        Ok(scaled)
    }

    /// Returns the visit ratio of each station: expected visits per external request.
    pub fn visit_ratios(&self) -> Result<Vec<f64>, NetworkError> {
        let total = self.external_rate();
        if total <= 0.0 {
            return Err(NetworkError::NoExternalArrivals);
        }
        let entry: Vec<f64> = self
            .external_rates
            .iter()
            .map(|rate| rate / total)
            .collect();
        let traffic = solve_traffic(&self.calls, &entry).map_err(|cycle| self.divergent(&cycle))?;
        Ok(traffic.visit_ratios)
    }

    fn divergent(&self, cycle: &crate::traffic::DivergentCycle) -> NetworkError {
        NetworkError::DivergentCycle {
            stations: cycle
                .stations
                .iter()
                .map(|&i| self.stations[i].name.clone())
                .collect(),
        }
    }

    /// Solves the network: visit ratios, per-station metrics, the bottleneck,
    /// and the end-to-end response time when every station is stable.
    pub fn solve(&self, options: &ResponseOptions) -> Result<NetworkSolution, NetworkError> {
        let total = self.external_rate();
        if total <= 0.0 {
            return Err(NetworkError::NoExternalArrivals);
        }
        let entry: Vec<f64> = self
            .external_rates
            .iter()
            .map(|rate| rate / total)
            .collect();
        let traffic = solve_traffic(&self.calls, &entry).map_err(|cycle| self.divergent(&cycle))?;

        let mut solved = Vec::with_capacity(self.stations.len());
        for (spec, &visit_ratio) in self.stations.iter().zip(&traffic.visit_ratios) {
            let arrival_rate = total * visit_ratio;
            let outcome = if arrival_rate > 0.0 {
                let outcome = spec
                    .solve(arrival_rate)
                    .map_err(|source| NetworkError::Station {
                        station: spec.name.clone(),
                        source,
                    })?;
                Some(outcome)
            } else {
                None
            };
            solved.push(outcome);
        }

        let (bottleneck, max_external_rate) = self.bottleneck(&traffic.visit_ratios);
        let all_stable = solved
            .iter()
            .all(|outcome| outcome.as_ref().is_none_or(Outcome::is_stable));
        let end_to_end = if all_stable {
            let stable: Vec<Option<&SolvedStation>> = solved
                .iter()
                .map(|outcome| match outcome {
                    Some(Outcome::Stable(station)) => Some(station),
                    _ => None,
                })
                .collect();
            Some(end_to_end(
                self,
                &self.calls,
                &entry,
                &traffic,
                &stable,
                options,
            ))
        } else {
            None
        };

        let stations = self
            .stations
            .iter()
            .zip(&traffic.visit_ratios)
            .zip(&solved)
            .enumerate()
            .map(|(index, ((spec, &visit_ratio), outcome))| {
                StationPrediction::new(
                    spec,
                    visit_ratio,
                    total,
                    outcome.as_ref(),
                    self.transport_overheads[index].0,
                    &options.spectrum_levels,
                )
            })
            .collect();

        Ok(NetworkSolution {
            external_rate: total,
            stations,
            bottleneck,
            max_external_rate,
            stable: all_stable,
            has_cycles: traffic.has_cycles,
            end_to_end,
        })
    }

    /// Returns the station with the highest demand v_i/(c_i·μ_i) and the
    /// largest stable external rate, min over stations of c_i·μ_i/v_i.
    fn bottleneck(&self, visit_ratios: &[f64]) -> (String, f64) {
        let mut best = (String::new(), f64::INFINITY);
        for (spec, &visit_ratio) in self.stations.iter().zip(visit_ratios) {
            if visit_ratio <= 0.0 {
                continue;
            }
            let limit = spec.servers as f64 * spec.service_rate / visit_ratio;
            if limit < best.1 {
                best = (spec.name.clone(), limit);
            }
        }
        best
    }

    /// Returns, per station, the smallest number of servers that keeps its
    /// utilization at or below `target_utilization` at the current load.
    pub fn servers_for_target(
        &self,
        target_utilization: f64,
    ) -> Result<Vec<(String, u64)>, NetworkError> {
        if !(target_utilization > 0.0 && target_utilization < 1.0) {
            return Err(NetworkError::Station {
                station: "all".into(),
                source: ModelError::InvalidTargetUtilization {
                    value: target_utilization,
                },
            });
        }
        let total = self.external_rate();
        let entry: Vec<f64> = self
            .external_rates
            .iter()
            .map(|rate| rate / total.max(f64::MIN_POSITIVE))
            .collect();
        let traffic = solve_traffic(&self.calls, &entry).map_err(|cycle| self.divergent(&cycle))?;
        Ok(self
            .stations
            .iter()
            .zip(&traffic.visit_ratios)
            .map(|(spec, visit_ratio)| {
                let offered_load = total * visit_ratio / spec.service_rate;
                (
                    spec.name.clone(),
                    servers_for_utilization(offered_load, target_utilization),
                )
            })
            .collect())
    }

    /// Mean transport overhead of a call into `station`, seconds.
    pub(crate) fn transport_overhead(&self, station: usize) -> f64 {
        self.transport_overheads[station].0
    }

    /// Returns E[e^(−sO)] of the transport overhead O of a call into `station`.
    pub(crate) fn transport_overhead_transform(&self, station: usize, s: Complex64) -> Complex64 {
        let (mean, distribution) = self.transport_overheads[station];
        if mean > 0.0 {
            distribution.transform(mean, s)
        } else {
            Complex64::new(1.0, 0.0)
        }
    }

    /// Draws one transport overhead of a call into `station`, seconds.
    pub(crate) fn sample_transport_overhead(
        &self,
        station: usize,
        rng: &mut crate::rng::SplitMix64,
    ) -> f64 {
        let (mean, distribution) = self.transport_overheads[station];
        if mean > 0.0 {
            rng.service_time(distribution, mean)
        } else {
            0.0
        }
    }
}

/// The model's prediction for one station, in SI units.
///
/// Times and lengths are `None` when the station is unstable or receives no traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationPrediction {
    /// Station name.
    pub name: String,
    /// Servers c.
    pub servers: u64,
    /// Service rate μ of one server, per second.
    pub service_rate: f64,
    /// Capacity K, if limited.
    pub capacity: Option<u64>,
    /// Service-time distribution.
    pub distribution: String,
    /// Model used, in Kendall notation.
    pub model: String,
    /// Visit ratio v: expected visits per external request.
    pub visit_ratio: f64,
    /// Arrival rate λ = Λ·v, per second.
    pub arrival_rate: f64,
    /// Utilization ρ = throughput/(c·μ); λ/(c·μ), at least 1, when unstable.
    pub utilization: f64,
    /// True when the station has a steady state.
    pub stable: bool,
    /// Probability that a request waits.
    pub probability_of_waiting: Option<f64>,
    /// Probability that an arrival is lost (capacity K only).
    pub probability_of_loss: Option<f64>,
    /// Lq, mean number waiting.
    pub mean_queue_length: Option<f64>,
    /// L, mean number present.
    pub mean_number_in_system: Option<f64>,
    /// Wq, seconds.
    pub mean_waiting_time: Option<f64>,
    /// W, seconds.
    pub mean_sojourn_time: Option<f64>,
    /// Sojourn-time quantiles, seconds.
    pub sojourn_time: Option<Quantiles>,
    /// Sojourn-time quantiles at [`ResponseOptions::spectrum_levels`], seconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sojourn_time_spectrum: Vec<QuantilePoint>,
    /// Transport overhead added to each call into this station, seconds.
    pub transport_overhead: f64,
    /// Servers that an unstable station needs.
    pub overload: Option<Overload>,
}

impl StationPrediction {
    fn new(
        spec: &StationSpec,
        visit_ratio: f64,
        external_rate: f64,
        outcome: Option<&Outcome<SolvedStation>>,
        transport_overhead: f64,
        spectrum_levels: &[f64],
    ) -> Self {
        let arrival_rate = external_rate * visit_ratio;
        let mut prediction = StationPrediction {
            name: spec.name.clone(),
            servers: spec.servers,
            service_rate: spec.service_rate,
            capacity: spec.capacity,
            distribution: spec.distribution.label(),
            model: "idle".into(),
            visit_ratio,
            arrival_rate,
            utilization: 0.0,
            stable: true,
            probability_of_waiting: None,
            probability_of_loss: None,
            mean_queue_length: None,
            mean_number_in_system: None,
            mean_waiting_time: None,
            mean_sojourn_time: None,
            sojourn_time: None,
            sojourn_time_spectrum: Vec::new(),
            transport_overhead,
            overload: None,
        };
        match outcome {
            None => {}
            Some(Outcome::Unstable(overload)) => {
                prediction.model = "unstable".into();
                prediction.stable = false;
                prediction.utilization = overload.utilization;
                prediction.overload = Some(overload.clone());
            }
            Some(Outcome::Stable(station)) => {
                let metrics = station.metrics();
                prediction.model = station.model().into();
                prediction.utilization = metrics.utilization;
                prediction.probability_of_waiting = Some(metrics.probability_of_waiting);
                prediction.probability_of_loss = Some(metrics.probability_of_loss);
                prediction.mean_queue_length = Some(metrics.mean_queue_length);
                prediction.mean_number_in_system = Some(metrics.mean_number_in_system);
                prediction.mean_waiting_time = Some(metrics.mean_waiting_time);
                prediction.mean_sojourn_time = Some(metrics.mean_sojourn_time);
                prediction.sojourn_time = Some(station.sojourn_time_quantiles());
                prediction.sojourn_time_spectrum = spectrum_at(spectrum_levels, |q| {
                    station.sojourn_time_quantile(q).unwrap_or(f64::NAN)
                });
            }
        }
        prediction
    }
}

/// The solution of a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSolution {
    /// Total external arrival rate Λ, per second.
    pub external_rate: f64,
    /// Per-station predictions, in the network's order.
    pub stations: Vec<StationPrediction>,
    /// The station that saturates first as the load grows.
    pub bottleneck: String,
    /// The largest external rate at which every station stays stable, per second.
    pub max_external_rate: f64,
    /// True when every station is stable.
    pub stable: bool,
    /// True when the call graph has a cycle.
    pub has_cycles: bool,
    /// The end-to-end response time; `None` when a station is unstable.
    pub end_to_end: Option<EndToEnd>,
}

impl NetworkSolution {
    /// Returns the stations that are unstable.
    pub fn unstable_stations(&self) -> impl Iterator<Item = &StationPrediction> {
        self.stations.iter().filter(|station| !station.stable)
    }
}

/// The default target utilization for capacity planning, 70 %.
pub const DEFAULT_PLANNING_TARGET: f64 = DEFAULT_TARGET_UTILIZATION;
