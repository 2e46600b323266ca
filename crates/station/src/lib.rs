//! The station runtime shared by the six services of the queuelab mesh.
//!
//! A station is one FCFS queue in front of c servers. A request waits for a
//! server, holds it for a service time drawn from the station's distribution,
//! releases it, then makes its downstream calls one after another (each
//! independently with its probability) and replies.
//!
//! Modules:
//! - [`config`]: a station's settings from the topology;
//! - [`launch`]: the flags every service binary shares;
//! - [`station`]: the [`Station`] handle and its [`StationSpec`];
//! - `core`: the queue and servers, and the task that runs each hold on the
//!   station's own thread;
//! - `hold_timer`: microsecond-accurate holds (a timerfd on the runtime's
//!   reactor, a short spin and a learned bias);
//! - `window`: the figures of one measurement window, in HdrHistograms;
//! - [`sampler`]: service-time distributions;
//! - [`downstream`]: clients for the calls to other stations;
//! - [`visit`]: the request path every service handler runs;
//! - [`stats_service`]: the `StationStats` gRPC API;
//! - [`server`]: serving a station with health checks and a graceful drain;
//! - [`supervisor`]: running a mesh's stations as child processes;
//! - [`names`]: the station names and their reference addresses;
//! - [`priority`]: running the station's thread in the real-time class.
//!
//! [`server::serve`] also starts a host agent (`queuelab-agent`) that samples
//! the process's CPU, memory and I/O; its report of each window travels with
//! the window figures. Further gRPC services can be served next to a station
//! by adding them to the [`tonic::service::Routes`] passed to it.

#![warn(missing_docs)]

pub mod config;
mod core;
pub mod downstream;
pub mod error;
mod hold_timer;
pub mod launch;
pub mod names;
pub mod priority;
pub mod sampler;
pub mod server;
pub mod station;
pub mod stats_service;
pub mod supervisor;
pub mod visit;
mod window;

pub use crate::core::Served;
pub use crate::downstream::Downstream;
pub use crate::error::{ConfigError, VisitError};
pub use crate::sampler::ServiceTimeDistribution;
pub use crate::station::{CallSpec, Station, StationSpec};
pub use crate::visit::{StationHandler, VisitReport};
