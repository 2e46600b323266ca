//! Command-line settings shared by every service binary, and the step from
//! those settings to a running station.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use queuelab_topology::{Topology, TopologyError};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::{call_targets, station_address, station_spec};
use crate::downstream::Downstream;
use crate::error::ConfigError;
use crate::names;
use crate::server::{self, ServeError};
use crate::station::{DEFAULT_HOLD_ERROR_P99, MAX_HOLD_ERROR_P99, Station};
use crate::visit::StationHandler;

/// Flags and environment variables of a service (also used by
/// `queuelab serve`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServiceArgs {
    /// Address to listen on, as host:port [default: the station's address in
    /// the topology, else its reference port 127.0.0.1:50051-50056].
    #[arg(long, env = "QUEUELAB_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<SocketAddr>,

    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, env = "QUEUELAB_TOPOLOGY", value_name = "FILE")]
    pub topology: Option<PathBuf>,

    /// Address of a called station, overriding the topology; repeat the flag
    /// or separate entries with commas, e.g. `--peer database=127.0.0.1:7006`.
    #[arg(
        long = "peer",
        env = "QUEUELAB_PEERS",
        value_name = "NAME=HOST:PORT",
        value_delimiter = ','
    )]
    pub peers: Vec<String>,

    /// Seed of the generator that draws service times and calls.
    #[arg(long, env = "QUEUELAB_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Target for the 99th percentile of the hold error (realized minus
    /// drawn service time), with a unit, at most 1ms. A smaller target
    /// spins longer before each hold ends and costs more CPU [default:
    /// 35us].
    #[arg(long, env = "QUEUELAB_HOLD_ERROR_P99", value_name = "DURATION", value_parser = parse_hold_target)]
    pub hold_error_p99: Option<Duration>,
}

/// Reads a `--hold-error-p99` value such as `35us`.
fn parse_hold_target(text: &str) -> Result<Duration, String> {
    let seconds = queuelab_topology::parse_duration_s(text).map_err(|error| error.to_string())?;
    if seconds > MAX_HOLD_ERROR_P99.as_secs_f64() {
        return Err(format!(
            "{text} is above the 1ms maximum; beyond it the timer's own lateness decides the error"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// An invalid flag, file or value in a service's settings.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The topology file could not be read or is invalid.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// A `--peer` entry is not `NAME=HOST:PORT`.
    #[error("invalid --peer {entry:?}: expected NAME=HOST:PORT, e.g. database=127.0.0.1:50056")]
    InvalidPeer {
        /// The rejected entry.
        entry: String,
    },
    /// A `--peer` entry names a station that the mesh does not have.
    #[error(
        "invalid --peer: unknown station {name:?}; the mesh has api-gateway, user, product, \
         order, payment and database"
    )]
    UnknownPeer {
        /// The unknown name.
        name: String,
    },
    /// The station's address is not a socket address.
    #[error(
        "invalid listen address {address:?} for station {station}: {reason}; pass --listen HOST:PORT"
    )]
    InvalidListen {
        /// Station name.
        station: String,
        /// The rejected address.
        address: String,
        /// The parse error.
        reason: String,
    },
    /// The station settings are invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The settings of one service, resolved and checked.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Station name, such as "user".
    pub station: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The topology the station follows.
    pub topology: Topology,
    /// Addresses that replace the topology's for called stations.
    pub peers: BTreeMap<String, String>,
    /// Seed of the station's generator.
    pub seed: u64,
    /// Target for the p99 of the station's hold error.
    pub hold_error_p99: Duration,
}

impl ServiceArgs {
    /// Reads the topology and resolves the settings of station `station`.
    ///
    /// # Errors
    /// [`LaunchError`] naming the bad file, flag or value.
    pub fn resolve(&self, station: &str) -> Result<ServiceConfig, LaunchError> {
        let topology = match &self.topology {
            Some(path) => Topology::from_path(path)?,
            None => Topology::reference(),
        };

        let mut peers = BTreeMap::new();
        for entry in &self.peers {
            let (name, address) = entry
                .split_once('=')
                .filter(|(name, address)| !name.is_empty() && !address.is_empty())
                .ok_or_else(|| LaunchError::InvalidPeer {
                    entry: entry.clone(),
                })?;
            let name = name.trim();
            if !names::ALL.contains(&name) {
                return Err(LaunchError::UnknownPeer {
                    name: name.to_owned(),
                });
            }
            peers.insert(name.to_owned(), address.trim().to_owned());
        }

        let listen = match self.listen {
            Some(listen) => listen,
            None => {
                let address = station_address(&topology, station)?;
                address.parse().map_err(|error: std::net::AddrParseError| {
                    LaunchError::InvalidListen {
                        station: station.to_owned(),
                        address,
                        reason: error.to_string(),
                    }
                })?
            }
        };

        Ok(ServiceConfig {
            station: station.to_owned(),
            listen,
            topology,
            peers,
            seed: self.seed,
            hold_error_p99: self.hold_error_p99.unwrap_or(DEFAULT_HOLD_ERROR_P99),
        })
    }
}

impl ServiceConfig {
    /// Builds the settings of `station` from `topology` with default seed 1,
    /// listening on `listen`; for tests and embedding.
    pub fn new(station: &str, topology: Topology, listen: SocketAddr) -> Self {
        Self {
            station: station.to_owned(),
            listen,
            topology,
            peers: BTreeMap::new(),
            seed: 1,
            hold_error_p99: DEFAULT_HOLD_ERROR_P99,
        }
    }

    /// Starts the station thread and prepares its downstream clients.
    ///
    /// # Errors
    /// [`ConfigError`] when the topology's settings for the station are invalid.
    pub fn start_handler(&self) -> Result<StationHandler, ConfigError> {
        let mut spec = station_spec(&self.topology, &self.station, self.seed)?;
        spec.hold_error_p99 = self.hold_error_p99;
        let targets = call_targets(&self.topology, &self.station, &self.peers)?;
        let downstream = Downstream::new(&self.station, &targets)?;
        let station = Station::start(spec)?;
        Ok(StationHandler::new(station, downstream))
    }
}

/// Installs a `tracing` subscriber that writes to stderr, filtered by
/// `RUST_LOG` (default `info`). Call it once, at the start of `main`.
///
/// The subscriber is [`queuelab_telemetry::init_logging`]'s, so that
/// [`run_service`] can add OpenTelemetry export to it later.
pub fn init_tracing() {
    queuelab_telemetry::init_logging();
}

/// A future that completes when the service should stop and drain.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

impl ServiceConfig {
    /// Starts the station and serves it on `listener` until `shutdown`
    /// completes. `domain_routes` wraps the station's handler in the
    /// station's own gRPC service.
    ///
    /// # Errors
    /// [`ServeError::Config`] when the settings are invalid,
    /// [`ServeError::Transport`] when the server fails.
    pub async fn serve_on(
        &self,
        listener: TcpListener,
        domain_routes: impl FnOnce(StationHandler) -> Routes,
        shutdown: Shutdown,
    ) -> Result<(), ServeError> {
        let handler = self.start_handler()?;
        let station = handler.station().clone();
        server::serve(station, domain_routes(handler), listener, shutdown).await
    }

    /// Binds the configured listen address, then runs [`Self::serve_on`].
    ///
    /// # Errors
    /// [`ServeError::Bind`] when the address cannot be bound, else as
    /// [`Self::serve_on`].
    pub async fn serve(
        &self,
        domain_routes: impl FnOnce(StationHandler) -> Routes,
        shutdown: Shutdown,
    ) -> Result<(), ServeError> {
        let listener = server::bind(&self.station, self.listen).await?;
        self.serve_on(listener, domain_routes, shutdown).await
    }
}

/// Builds the runtime a station service serves gRPC on: one thread, the
/// caller's, with I/O and timers. With a single thread there are fewer
/// runtime locks for the station's thread to wait on when it wakes a request
/// task.
///
/// # Errors
/// The I/O error when the runtime's reactor cannot be created.
pub fn service_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs a service binary: resolves `args` for `station`, serves it with
/// `serve` on a [`service_runtime`] until SIGINT or SIGTERM, and returns the
/// exit code (2 for invalid settings, 1 when serving fails).
pub fn run_service<F, Fut>(station: &str, args: &ServiceArgs, serve: F) -> ExitCode
where
    F: FnOnce(ServiceConfig, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), ServeError>>,
{
    // Exports spans and metrics when OTEL_EXPORTER_OTLP_ENDPOINT is set;
    // dropping the guard at return flushes them.
    let _telemetry = queuelab_telemetry::init(&format!("queuelab-{station}"));

    let config = match args.resolve(station) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };

    let runtime = match service_runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the tokio runtime: {error}");
            return ExitCode::from(1);
        }
    };

    match runtime.block_on(serve(config, Box::pin(server::shutdown_signal()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(station, %error, "service failed");
            eprintln!("error: {error}");
            let is_config_error = matches!(error, ServeError::Config(_));
            ExitCode::from(if is_config_error { 2 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_with_peers(peers: &[&str]) -> ServiceArgs {
        ServiceArgs {
            peers: peers.iter().map(|peer| (*peer).to_owned()).collect(),
            ..ServiceArgs::default()
        }
    }

    #[test]
    fn resolve_reads_peers() {
        let config = args_with_peers(&["database=127.0.0.1:7006"])
            .resolve("user")
            .unwrap();
        assert_eq!(config.peers["database"], "127.0.0.1:7006");
        // The user station's reference address, from the built-in topology.
        assert_eq!(config.listen.to_string(), "127.0.0.1:50052");
    }

    #[test]
    fn resolve_rejects_peer_without_equals() {
        let result = args_with_peers(&["database"]).resolve("user");
        assert!(
            matches!(result, Err(LaunchError::InvalidPeer { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn hold_target_flag_parsing() {
        assert_eq!(parse_hold_target("45us"), Ok(Duration::from_micros(45)));
        assert_eq!(parse_hold_target("0.5ms"), Ok(Duration::from_micros(500)));
        let too_large = parse_hold_target("2ms").unwrap_err();
        assert!(too_large.contains("1ms maximum"), "{too_large}");
        let huge = parse_hold_target("1e300s").unwrap_err();
        assert!(huge.contains("1ms maximum"), "{huge}");
        let no_unit = parse_hold_target("45").unwrap_err();
        assert!(no_unit.contains("followed by a unit"), "{no_unit}");
    }

    #[test]
    fn resolve_default_hold_target() {
        let config = args_with_peers(&[]).resolve("user").unwrap();
        assert_eq!(config.hold_error_p99, Duration::from_micros(35));
    }

    #[test]
    fn resolve_rejects_unknown_peer() {
        let result = args_with_peers(&["inventory=127.0.0.1:7000"]).resolve("user");
        assert!(
            matches!(result, Err(LaunchError::UnknownPeer { .. })),
            "{result:?}"
        );
    }
}
