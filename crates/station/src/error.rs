//! Errors of the station runtime.

use tonic::Status;

use crate::sampler::ServiceTimeDistribution;

/// A station configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The service-time distribution has an invalid parameter.
    #[error("station {station}: invalid service-time distribution {distribution:?}: {reason}")]
    InvalidDistribution {
        /// Station name.
        station: String,
        /// The rejected distribution.
        distribution: ServiceTimeDistribution,
        /// The constraint it breaks.
        reason: String,
    },
    /// The topology has no station of this name.
    #[error(
        "the topology has no station named {station:?}; add a [[station]] with name = {station:?}"
    )]
    StationMissing {
        /// Station name.
        station: String,
    },
    /// The station has no servers.
    #[error(
        "station {station}: servers c must be >= 1, got 0; set servers to 1 or more in the topology"
    )]
    NoServers {
        /// Station name.
        station: String,
    },
    /// A capacity K smaller than the number of servers.
    #[error(
        "station {station}: capacity K = {capacity} is below servers c = {servers}; \
         set capacity >= servers or remove it"
    )]
    CapacityBelowServers {
        /// Station name.
        station: String,
        /// Capacity K.
        capacity: u32,
        /// Servers c.
        servers: u32,
    },
    /// A call probability outside [0, 1].
    #[error("station {station}: call to {to} has probability {probability}; it must lie in [0, 1]")]
    InvalidCallProbability {
        /// Calling station.
        station: String,
        /// Called station.
        to: String,
        /// The rejected probability.
        probability: f64,
    },
    /// More outgoing calls than the runtime supports.
    #[error("station {station}: {count} outgoing calls; at most {max} are supported")]
    TooManyCalls {
        /// Station name.
        station: String,
        /// Number of calls in the topology.
        count: usize,
        /// The supported maximum.
        max: usize,
    },
    /// A call to a station that no service implements.
    #[error(
        "station {station}: calls unknown station {to:?}; the mesh has api-gateway, user, \
         product, order, payment and database"
    )]
    UnknownCallTarget {
        /// Calling station.
        station: String,
        /// The unknown name.
        to: String,
    },
    /// A downstream address that is not a valid `host:port`.
    #[error(
        "station {station}: invalid address {address:?} for {to}: {reason}; use host:port, e.g. 127.0.0.1:50052"
    )]
    InvalidAddress {
        /// Calling station.
        station: String,
        /// Called station.
        to: String,
        /// The rejected address.
        address: String,
        /// The parse error.
        reason: String,
    },
    /// A hold-error target above the maximum.
    #[error(
        "station {station}: hold error p99 target {target_us} µs is above the {max_us} µs maximum; \
         pass a smaller --hold-error-p99, such as the default 35us"
    )]
    HoldTargetTooLarge {
        /// Station name.
        station: String,
        /// The rejected target, in microseconds.
        target_us: f64,
        /// The largest target, in microseconds.
        max_us: f64,
    },
    /// The station thread could not be started.
    #[error("station {station}: failed to start its thread: {source}")]
    Thread {
        /// Station name.
        station: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A visit to a station that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// The arrival found K requests present and was rejected.
    #[error(
        "station {station} is full: capacity K = {capacity} requests present; retry later or lower the arrival rate"
    )]
    CapacityReached {
        /// Station name.
        station: String,
        /// The capacity that was reached.
        capacity: u32,
    },
    /// The caller's deadline passed while the request waited or was served.
    #[error(
        "station {station}: the request's deadline passed after {waited_ms:.3} ms in the station; raise the grpc-timeout or lower the load"
    )]
    DeadlineExceeded {
        /// Station name.
        station: String,
        /// Time spent in the station, in milliseconds.
        waited_ms: f64,
    },
    /// The runtime dropped the visit's task (the service is shutting down).
    #[error("station {station} is shutting down; retry on another instance")]
    Stopped {
        /// Station name.
        station: String,
    },
}

impl From<VisitError> for Status {
    fn from(error: VisitError) -> Self {
        let message = error.to_string();
        match error {
            VisitError::CapacityReached { .. } => Status::resource_exhausted(message),
            VisitError::DeadlineExceeded { .. } => Status::deadline_exceeded(message),
            VisitError::Stopped { .. } => Status::unavailable(message),
        }
    }
}
