//! Errors of the queueing engine.
//!
//! Each variant names the bad value and the constraint it broke, so a caller
//! can show it to a user as it is.

/// An invalid parameter of a queueing model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A rate (λ or μ) that is zero, negative, infinite or NaN.
    #[error("invalid {name} {value}: it must be a finite number greater than 0 (per second)")]
    InvalidRate {
        /// Name of the rate, for example "arrival rate λ".
        name: &'static str,
        /// The value given, per second.
        value: f64,
    },

    /// A duration that is zero, negative, infinite or NaN.
    #[error("invalid {name} {value} s: it must be a finite number of seconds greater than 0")]
    InvalidDuration {
        /// Name of the duration, for example "mean service time".
        name: &'static str,
        /// The value given, in seconds.
        value: f64,
    },

    /// A number of servers c of zero.
    #[error("invalid number of servers 0: a station needs at least 1 server")]
    NoServers,

    /// A capacity K smaller than the number of servers c.
    #[error(
        "invalid capacity K = {capacity} with {servers} servers: K counts the requests waiting \
         and in service, so it must be at least c = {servers}"
    )]
    CapacityBelowServers {
        /// The capacity K given.
        capacity: u64,
        /// The number of servers c.
        servers: u64,
    },

    /// A squared coefficient of variation that is negative, infinite or NaN.
    #[error(
        "invalid squared coefficient of variation {value} of the service time: it must be a \
         finite number of at least 0 (0 is deterministic, 1 exponential)"
    )]
    InvalidScv {
        /// The value given.
        value: f64,
    },

    /// A probability or a quantile outside its range.
    #[error("invalid {name} {value}: it must lie in {range}")]
    InvalidProbability {
        /// Name of the probability, for example "quantile".
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, for example "[0, 1)".
        range: &'static str,
    },

    /// A target utilization outside (0, 1).
    #[error("invalid target utilization {value}: it must lie strictly between 0 and 1")]
    InvalidTargetUtilization {
        /// The value given.
        value: f64,
    },

    /// A model that needs more servers than the engine can represent.
    #[error("the load needs more than {limit} servers, which is beyond what the engine computes")]
    TooManyServers {
        /// The largest number of servers the engine handles.
        limit: u64,
    },
}
