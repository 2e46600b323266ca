//! The end-to-end response time of a request: a random sum over its call tree.
//!
//! A visit to station i takes its sojourn time T_i plus, for each call i → j
//! made (independently, with probability p), the transport overhead o_j and
//! the response time R_j of the called visit. With the stations independent,
//! the Laplace–Stieltjes transform follows the call graph:
//!
//!   R_i*(s) = T_i*(s) · Π_j (1 − p_ij + p_ij·e^(−s·o_j)·R_j*(s)),
//!
//! which an acyclic graph evaluates bottom-up; quantiles then come from
//! numerical inversion. Adding per-station quantiles instead would be badly
//! wrong, since the tails of independent visits rarely line up. A graph with
//! cycles has unbounded call trees, so it is simulated instead with a fixed
//! seed. The mean needs neither: it is Σ_i v_i·(W_i + o_i).

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::laplace::quantile_from_transform;
use crate::network::Network;
use crate::quantile::Quantiles;
use crate::rng::SplitMix64;
use crate::station::SolvedStation;
use crate::traffic::{Edge, Traffic};

/// How to compute end-to-end quantiles.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseOptions {
    /// Requests simulated when the call graph has cycles.
    pub simulated_requests: u64,
    /// Seed of the simulation.
    pub seed: u64,
    /// Extra quantile levels in [0, 1) to compute for percentile-spectrum
    /// plots, per station and end to end; empty by default.
    pub spectrum_levels: Vec<f64>,
}

impl Default for ResponseOptions {
    /// 200 000 requests give the p99 within about 1 % (its standard error is
    /// √(0.99·0.01/n) in probability), seed 1.
    fn default() -> Self {
        ResponseOptions {
            simulated_requests: 200_000,
            seed: 1,
            spectrum_levels: Vec::new(),
        }
    }
}

/// Method used for the end-to-end quantiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResponseMethod {
    /// Numerical inversion of the response time's Laplace transform.
    LaplaceInversion,
    /// Simulation of the same model with a fixed seed.
    Simulation {
        /// Requests simulated.
        requests: u64,
        /// Seed used.
        seed: u64,
    },
}

impl std::fmt::Display for ResponseMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseMethod::LaplaceInversion => write!(f, "numerical Laplace inversion"),
            ResponseMethod::Simulation { requests, seed } => {
                write!(
                    f,
                    "simulation of {requests} requests, seed {seed} (the call graph has cycles)"
                )
            }
        }
    }
}

/// The predicted end-to-end response time of a request, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndToEnd {
    /// Mean response time, seconds (exact for the model).
    pub mean_response_time: f64,
    /// Response-time quantiles, seconds.
    pub response_time: Quantiles,
    /// Method used for the quantiles.
    pub method: ResponseMethod,
    /// Quantiles at [`ResponseOptions::spectrum_levels`], seconds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spectrum: Vec<QuantilePoint>,
}

/// One point of a percentile spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuantilePoint {
    /// Quantile level q in [0, 1).
    pub level: f64,
    /// The q-quantile, seconds.
    pub seconds: f64,
}

/// Computes the end-to-end response time of a network whose stations are all stable.
///
/// `stations[i]` is `None` for a station that receives no traffic.
pub(crate) fn end_to_end(
    network: &Network,
    calls: &[Vec<Edge>],
    entry: &[f64],
    traffic: &Traffic,
    stations: &[Option<&SolvedStation>],
    options: &ResponseOptions,
) -> EndToEnd {
    let mean_response_time = stations
        .iter()
        .enumerate()
        .filter_map(|(index, station)| {
            let sojourn = (*station)?.metrics().mean_sojourn_time;
            Some(traffic.visit_ratios[index] * (sojourn + network.transport_overhead(index)))
        })
        .sum();

    if traffic.has_cycles {
        let totals = simulate(network, calls, entry, stations, options);
        let empirical = |q: f64| {
            if totals.is_empty() {
                return mean_response_time;
            }
            let rank = (q * totals.len() as f64).ceil() as usize;
            totals[rank.clamp(1, totals.len()) - 1]
        };
        return EndToEnd {
            mean_response_time,
            response_time: Quantiles::from_fn(empirical),
            method: ResponseMethod::Simulation {
                requests: options.simulated_requests,
                seed: options.seed,
            },
            spectrum: spectrum_at(&options.spectrum_levels, empirical),
        };
    }

    let transform = |s: Complex64| response_transform(network, calls, entry, traffic, stations, s);
    let quantile = |q: f64| quantile_from_transform(transform, q, mean_response_time);
    EndToEnd {
        mean_response_time,
        response_time: Quantiles::from_fn(quantile),
        method: ResponseMethod::LaplaceInversion,
        spectrum: spectrum_at(&options.spectrum_levels, quantile),
    }
}

/// Evaluates `quantile` at each level.
pub(crate) fn spectrum_at(
    levels: &[f64],
    mut quantile: impl FnMut(f64) -> f64,
) -> Vec<QuantilePoint> {
    levels
        .iter()
        .map(|&level| QuantilePoint {
            level,
            seconds: quantile(level),
        })
        .collect()
}

/// Evaluates E[e^(−sR)] for an acyclic call graph, callees before callers.
fn response_transform(
    network: &Network,
    calls: &[Vec<Edge>],
    entry: &[f64],
    traffic: &Traffic,
    stations: &[Option<&SolvedStation>],
    s: Complex64,
) -> Complex64 {
    let one = Complex64::new(1.0, 0.0);
    let mut visit = vec![one; stations.len()];
    for &index in traffic.topological_order.iter().rev() {
        let Some(station) = stations[index] else {
            continue;
        };
        let mut value = station.sojourn_time_transform(s);
        for edge in &calls[index] {
            let call = network.transport_overhead_transform(edge.to, s) * visit[edge.to];
            value *= (1.0 - edge.probability) + edge.probability * call;
        }
        visit[index] = value;
    }

    entry
        .iter()
        .enumerate()
        .filter(|(_, share)| **share > 0.0)
        .map(|(index, share)| {
            *share * network.transport_overhead_transform(index, s) * visit[index]
        })
        .sum()
}

/// Inverse-CDF tables for stations whose sojourn draw is costly.
const TABLE_SIZE: usize = 4096;
/// A bound on visits per simulated request, far above any realistic mean.
const MAX_VISITS_PER_REQUEST: usize = 1_000_000;

/// Simulates `options.simulated_requests` call trees and returns their
/// response times, sorted.
fn simulate(
    network: &Network,
    calls: &[Vec<Edge>],
    entry: &[f64],
    stations: &[Option<&SolvedStation>],
    options: &ResponseOptions,
) -> Vec<f64> {
    let mut rng = SplitMix64::new(options.seed);
    let specs = network.stations();

    // Stations without a cheap exact draw get an inverse-CDF table, filled once.
    // NOTE: a table of 4096 levels resolves quantiles up to about p99.97 of
    // such a station; the deeper tail is clipped at the last level.
    let tables: Vec<Option<Vec<f64>>> = stations
        .iter()
        .map(|station| match station {
            Some(station @ (SolvedStation::Mg1(_) | SolvedStation::Mmck(_))) => Some(
                (0..TABLE_SIZE)
                    .map(|k| {
                        let level = (k as f64 + 0.5) / TABLE_SIZE as f64;
                        station.sojourn_time_quantile(level).unwrap_or(0.0)
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect();

    let mut totals = Vec::with_capacity(options.simulated_requests as usize);
    let mut pending = Vec::new();
    for _ in 0..options.simulated_requests {
        let mut pick = rng.uniform();
        let first = entry
            .iter()
            .position(|share| {
                pick -= share;
                pick < 0.0
            })
            .unwrap_or(entry.len() - 1);

        let mut total = 0.0;
        let mut visits = 0;
        pending.clear();
        pending.push(first);
        while let Some(index) = pending.pop() {
            visits += 1;
            if visits > MAX_VISITS_PER_REQUEST {
                break;
            }
            let Some(station) = stations[index] else {
                continue;
            };
            total += network.sample_transport_overhead(index, &mut rng);
            total += match &tables[index] {
                Some(table) => table[(rng.uniform() * TABLE_SIZE as f64) as usize % TABLE_SIZE],
                None => station.sample_sojourn_time(&specs[index], &mut rng),
            };
            for edge in &calls[index] {
                if rng.uniform() < edge.probability {
                    pending.push(edge.to);
                }
            }
        }
        totals.push(total);
    }

    totals.sort_unstable_by(f64::total_cmp);
    totals
}
