//! Exact queueing models for capacity questions.
//!
//! The crate is pure computation: no I/O, no clocks, no global state.
//! Rates are per second and times in seconds throughout.
//!
//! - [`Mmc`]: M/M/c, and M/M/1 as c = 1, with Erlang C computed by a stable
//!   recursion (any c up to at least 100 000) and exact waiting- and
//!   sojourn-time distributions.
//! - [`Mmck`]: M/M/c/K with losses.
//! - [`Mg1`]: M/G/1 by Pollaczek–Khinchine, M/D/1 included.
//! - [`Network`]: open networks with call-graph semantics, solved by the
//!   traffic equations, with the end-to-end response-time distribution.
//! - [`Outcome`]: an unstable load is a result that reports the servers it needs.
//!
//! # Limitations
//! - Stations in a network are solved independently (Jackson / Kleinrock
//!   independence); their waits are correlated in reality.
//! - A station with capacity K loses requests, but the traffic equations use
//!   offered rates, so stations downstream of a lossy one are predicted at
//!   slightly too high a load.
//! - Multi-server stations with non-exponential service use the Allen–Cunneen
//!   approximation.

#![warn(missing_docs)]

mod distribution;
mod erlang;
mod error;
mod laplace;
mod mg1;
mod mmc;
mod mmck;
mod network;
mod outcome;
mod planning;
mod quantile;
mod response;
mod rng;
mod station;
mod traffic;
mod validate;

pub use distribution::ServiceDistribution;
pub use erlang::{erlang_b, erlang_c, ln_factorial};
pub use error::ModelError;
pub use laplace::{cdf_from_transform, quantile_from_transform};
pub use mg1::Mg1;
pub use mmc::Mmc;
pub use mmck::Mmck;
pub use network::{
    DEFAULT_PLANNING_TARGET, Network, NetworkError, NetworkSolution, StationPrediction,
};
pub use num_complex::Complex64;
pub use outcome::{DEFAULT_TARGET_UTILIZATION, Metrics, Outcome, Overload};
pub use planning::{servers_for_stability, servers_for_utilization};
pub use quantile::Quantiles;
pub use response::{EndToEnd, QuantilePoint, ResponseMethod, ResponseOptions};
pub use station::{AllenCunneen, SolvedStation, StationSpec};
