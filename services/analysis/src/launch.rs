//! Command-line settings of the analysis service, shared by its own binary
//! and by `queuelab serve-analysis`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use queuelab_topology::Topology;

use crate::{AnalysisConfig, DEFAULT_LISTEN, bind, serve, station_addresses};

/// Flags and environment variables of the analysis service.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalysisArgs {
    /// Address to listen on, as host:port.
    #[arg(long, env = "QUEUELAB_LISTEN", default_value = DEFAULT_LISTEN, value_name = "HOST:PORT")]
    pub listen: SocketAddr,
    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, env = "QUEUELAB_TOPOLOGY", value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// Address of a station's stats API, overriding the topology; repeat the
    /// flag or separate entries with commas, e.g. `--station payment=payment:50055`.
    #[arg(
        long = "station",
        env = "QUEUELAB_STATIONS",
        value_name = "NAME=HOST:PORT",
        value_delimiter = ','
    )]
    pub stations: Vec<String>,
}

/// Serves the analysis service until SIGINT or SIGTERM; exits with 2 on a
/// bad setting and 1 when serving fails.
pub fn run(args: &AnalysisArgs) -> ExitCode {
    // Exports metrics (and any spans) when OTEL_EXPORTER_OTLP_ENDPOINT is
    // set; dropping the guard at return flushes them.
    let _telemetry = queuelab_telemetry::init("queuelab-analysis");

    let config = match resolve(args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the tokio runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let listener = bind(args.listen).await?;
        serve(config, listener, shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "analysis service failed");
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

/// Reads the topology and the station addresses.
fn resolve(args: &AnalysisArgs) -> Result<AnalysisConfig, String> {
    let (topology, topology_origin) = match &args.topology {
        Some(path) => (
            Topology::from_path(path).map_err(|error| error.to_string())?,
            path.display().to_string(),
        ),
        None => (Topology::reference(), "reference (built in)".to_owned()),
    };
    let mut overrides = BTreeMap::new();
    for entry in &args.stations {
        let (name, address) = entry
            .split_once('=')
            .filter(|(name, address)| !name.trim().is_empty() && !address.trim().is_empty())
            .ok_or_else(|| format!("invalid --station {entry:?}: expected NAME=HOST:PORT, e.g. payment=127.0.0.1:50055"))?;
        overrides.insert(name.trim().to_owned(), address.trim().to_owned());
    }
    let stations = station_addresses(&topology, &overrides).map_err(|error| error.to_string())?;
    Ok(AnalysisConfig {
        topology,
        topology_origin,
        stations,
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "failed to watch SIGTERM; only Ctrl-C stops the service");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested; draining");
}
