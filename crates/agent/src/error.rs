//! Errors of the sampler.

use std::time::Duration;

/// Errors from creating or running a [`Sampler`](crate::Sampler).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The sampling interval is shorter than the operating system's CPU accounting allows.
    #[error(
        "sampling interval {interval:?} is too short: CPU usage needs at least {minimum:?} \
         between two samples; use a longer interval"
    )]
    IntervalTooShort {
        /// The interval that was requested.
        interval: Duration,
        /// The shortest interval that gives meaningful CPU figures.
        minimum: Duration,
    },

    /// The process to sample does not exist (or exited).
    #[error("process {pid} not found: check the PID with `ps -p {pid}`")]
    ProcessNotFound {
        /// The process ID that was requested.
        pid: u32,
    },

    /// The window capacity is zero, so no sample could be kept.
    #[error("window capacity must be at least 1 sample, got 0")]
    EmptyWindow,

    /// An indicator threshold is out of range.
    #[error("invalid threshold {name} = {value}: expected {expected}")]
    InvalidThreshold {
        /// Field name in [`Thresholds`](crate::Thresholds).
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range.
        expected: &'static str,
    },

    /// A `/proc` file could not be read.
    #[error("failed to read {path}: {source}")]
    Proc {
        /// The file that failed.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A `/proc` file had an unexpected format.
    #[error("failed to parse {path}: {detail}")]
    ProcFormat {
        /// The file that failed.
        path: String,
        /// Description of the problem.
        detail: String,
    },

    /// `sysinfo` could not initialise on this platform.
    #[error("failed to read system information: {0}")]
    System(#[from] sysinfo::Error),

    /// The background sampling thread could not be started.
    #[error("failed to start the sampling thread: {0}")]
    Spawn(#[source] std::io::Error),
}
