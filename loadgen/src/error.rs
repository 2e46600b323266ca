//! Errors of the load generator, one enum per stage: planning a run,
//! connecting to the target, and writing results.

use std::path::PathBuf;
use std::time::Duration;

/// An invalid run setting. Every variant is an input error: the caller
/// should report it and exit with a usage status.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The arrival rate is not a finite number above 0.
    #[error("invalid rate {rate_per_s}: the arrival rate must be a number above 0 requests/s")]
    InvalidRate {
        /// The rejected rate, in requests per second.
        rate_per_s: f64,
    },

    /// A rate in a comma-separated list could not be parsed as a number.
    #[error("invalid rate {text:?}: expected requests/s as a number, or a list like 500,1000,1500")]
    UnparsableRate {
        /// The rejected text.
        text: String,
    },

    /// A duration could not be parsed.
    #[error("invalid duration {text:?}: expected a number with a unit, like 500ms, 30s or 2m")]
    UnparsableDuration {
        /// The rejected text.
        text: String,
    },

    /// A duration that must be above 0 is 0.
    #[error("invalid {setting} 0s: it must be longer than 0, like 500ms or 30s")]
    ZeroDuration {
        /// The flag or setting that was 0.
        setting: &'static str,
    },

    /// The cap on requests in flight is 0, so nothing could ever be sent.
    #[error("invalid max-in-flight 0: allow at least 1 request in flight")]
    ZeroMaxInFlight,

    /// The target is not an `http://` URL.
    #[error("invalid target {url:?}: expected a URL like http://127.0.0.1:50051")]
    InvalidTarget {
        /// The rejected URL.
        url: String,
    },
}

/// A failure to connect to the target before the run starts.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The target URL is invalid; this is an input error.
    #[error(transparent)]
    InvalidTarget(#[from] PlanError),

    /// No connection was made within the connect timeout.
    #[error(
        "could not connect to {url} within {timeout:?}; check that the server is running and the address is right"
    )]
    Unreachable {
        /// The target URL.
        url: String,
        /// The connect timeout that was allowed.
        timeout: Duration,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
}

/// A failure to write the result files.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file or directory could not be created or written.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A histogram could not be serialized into the interval log.
    #[error("could not write histogram to {path}: {message}")]
    Histogram {
        /// The interval log file.
        path: PathBuf,
        /// The serializer's message.
        message: String,
    },
}
