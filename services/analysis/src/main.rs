//! `queuelab-analysis`: runs the analysis service as its own process.
//! Settings come from flags or their QUEUELAB_* environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use queuelab_analysis_service::{AnalysisConfig, DEFAULT_LISTEN, bind, serve, station_addresses};
use queuelab_station::launch::init_tracing;
use queuelab_topology::Topology;

/// Serve the queuelab analysis service until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "queuelab-analysis", version, about)]
struct Args {
    /// Address to listen on, as host:port.
    #[arg(long, env = "QUEUELAB_LISTEN", default_value = DEFAULT_LISTEN, value_name = "HOST:PORT")]
    listen: SocketAddr,
    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, env = "QUEUELAB_TOPOLOGY", value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Address of a station's stats API, overriding the topology; repeat the
    /// flag or separate entries with commas, e.g. `--station payment=payment:50055`.
    #[arg(
        long = "station",
        env = "QUEUELAB_STATIONS",
        value_name = "NAME=HOST:PORT",
        value_delimiter = ','
    )]
    stations: Vec<String>,
}

fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let (topology, origin) = match &args.topology {
        Some(path) => (
            Topology::from_path(path).map_err(|error| error.to_string())?,
            path.display().to_string(),
        ),
        None => (Topology::reference(), "reference (built in)".to_owned()),
    };
    let mut overrides = BTreeMap::new();
    for entry in &args.stations {
        let (name, address) = entry.split_once('=').ok_or_else(|| {
            format!(
                "invalid --station {entry:?}: expected NAME=HOST:PORT, e.g. payment=127.0.0.1:50055"
            )
        })?;
        overrides.insert(name.trim().to_owned(), address.trim().to_owned());
    }
    let stations = station_addresses(&topology, &overrides).map_err(|error| error.to_string())?;
    let config = AnalysisConfig {
        topology,
        topology_origin: origin,
        stations,
    };

    let runtime = tokio::runtime::Runtime::new()
        .map_err(|error| format!("failed to start the runtime: {error}"))?;
    runtime.block_on(async {
        let listener = bind(args.listen).await.map_err(|error| error.to_string())?;
        serve(config, listener, shutdown_signal())
            .await
            .map_err(|error| error.to_string())
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the service");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown requested; draining");
}
