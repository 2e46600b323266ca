//! The queuelab topology file: stations, calls and external arrivals.
//!
//! A topology describes a system of M/M/c-like stations that call each
//! other. The services of the mesh, the load generator, the analysis and the
//! queueing engine all read the same file, so they agree on what runs.
//! [`Topology::reference`] is the built-in reference architecture, whose
//! file is shown in the project's documentation of the format.
//!
//! ```toml
//! [[station]]
//! name = "payment"          # unique
//! servers = 1               # c, at least 1
//! service_rate = 800.0      # μ per server, per second (or mean_service_time = "1.25ms")
//! distribution = "gamma"    # exponential (default), deterministic or gamma
//! scv = 0.5                 # gamma only: squared coefficient of variation
//! capacity = 50             # optional K: requests waiting plus in service
//! address = "127.0.0.1:50055"
//!
//! [[call]]
//! from = "order"
//! to = "payment"
//! probability = 1.0         # expected calls per visit, in [0, 1]
//!
//! [[arrival]]
//! station = "api-gateway"
//! rate = 1000.0             # external Poisson rate, per second
//! ```

#![warn(missing_docs)]

mod duration;
mod error;
mod file;
mod validate;

use std::path::Path;

pub use queuelab_engine::ServiceDistribution;
use queuelab_engine::{Network, NetworkError, StationSpec};

pub use duration::{DurationError, format_duration_s, parse_duration_s};
pub use error::TopologyError;

/// The text of the built-in reference architecture.
pub const REFERENCE_TOML: &str = include_str!("reference.toml");

/// A checked topology.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    /// Stations, in file order.
    pub stations: Vec<Station>,
    /// Calls, in file order; a station makes its calls in this order.
    pub calls: Vec<Call>,
    /// External arrivals.
    pub arrivals: Vec<Arrival>,
}

/// One station.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    /// Unique name, also the service's name in the mesh.
    pub name: String,
    /// Servers c, at least 1.
    pub servers: u32,
    /// Service rate μ of one server, requests per second.
    pub service_rate: f64,
    /// Shape of the service-time distribution.
    pub distribution: ServiceDistribution,
    /// Capacity K (requests waiting plus in service), if limited; at least c.
    pub capacity: Option<u32>,
    /// Address the service listens on, as `host:port`, if the file gives one.
    pub address: Option<String>,
}

impl Station {
    /// Mean service time 1/μ, seconds.
    pub fn mean_service_time_s(&self) -> f64 {
        1.0 / self.service_rate
    }
}

/// One call edge: each visit to `from` calls `to` with `probability`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Calling station.
    pub from: String,
    /// Called station.
    pub to: String,
    /// Probability of the call per visit, in [0, 1].
    pub probability: f64,
}

/// External Poisson arrivals into one station.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// Entry station.
    pub station: String,
    /// Rate, requests per second.
    pub rate: f64,
}

impl Topology {
    /// Returns the built-in reference architecture.
    pub fn reference() -> Topology {
        Topology::from_toml_str(REFERENCE_TOML, "<reference>")
            .expect("the reference topology is valid")
    }

    /// Reads and checks a topology file.
    pub fn from_path(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Topology::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and checks topology text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Topology, TopologyError> {
        validate::parse(text, origin)
    }

    /// Returns the station called `name`.
    pub fn station(&self, name: &str) -> Option<&Station> {
        self.stations.iter().find(|station| station.name == name)
    }

    /// Returns the calls made by `name`, in the order it makes them.
    pub fn calls_from<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Call> + 'a {
        self.calls.iter().filter(move |call| call.from == name)
    }

    /// Total external arrival rate, per second.
    pub fn external_rate(&self) -> f64 {
        self.arrivals.iter().map(|arrival| arrival.rate).sum()
    }

    /// Returns a copy whose external rates are scaled to total `rate_per_s`,
    /// keeping each entry station's share.
    pub fn with_external_rate(&self, rate_per_s: f64) -> Topology {
        let total = self.external_rate();
        let mut scaled = self.clone();
        for arrival in &mut scaled.arrivals {
            arrival.rate *= rate_per_s / total;
        }
        scaled
    }

    /// Builds the queueing network that the engine solves.
    pub fn to_network(&self) -> Result<Network, NetworkError> {
        let specs = self
            .stations
            .iter()
            .map(|station| StationSpec {
                name: station.name.clone(),
                servers: u64::from(station.servers),
                service_rate: station.service_rate,
                distribution: station.distribution,
                capacity: station.capacity.map(u64::from),
            })
            .collect();
        let mut network = Network::new(specs)?;
        let index = |name: &str| network_index(self, name);
        for call in &self.calls {
            network.add_call(index(&call.from), index(&call.to), call.probability)?;
        }
        for arrival in &self.arrivals {
            let station = index(&arrival.station);
            let rate = self
                .arrivals
                .iter()
                .filter(|a| a.station == arrival.station)
                .map(|a| a.rate)
                .sum();
            network.set_external_rate(station, rate)?;
        }
        Ok(network)
    }
}

/// Index of a station known to exist: checked when the file was read.
fn network_index(topology: &Topology, name: &str) -> usize {
    topology
        .stations
        .iter()
        .position(|station| station.name == name)
        .expect("names were checked when the topology was read")
}
