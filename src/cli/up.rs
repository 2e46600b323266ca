//! `queuelab up`: start the six stations of the mesh as child processes, and
//! the hidden `queuelab serve STATION` that each child runs.

use std::ffi::OsString;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use queuelab_station::config::station_address;
use queuelab_station::launch::{ServiceArgs, ServiceConfig, Shutdown, init_tracing, run_service};
use queuelab_station::names;
use queuelab_station::server::ServeError;
use queuelab_station::supervisor::{ChildSpec, Mesh};
use queuelab_topology::Topology;

use super::InputError;

/// Time the stations get to drain their requests in flight after Ctrl-C,
/// before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,

    /// Seed of the stations' generators (service times and calls).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Seconds to wait for every station to report healthy.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    ready_timeout_s: f64,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Station to serve.
    #[arg(value_parser = names::ALL)]
    station: String,

    #[command(flatten)]
    service: ServiceArgs,
}

/// Runs `queuelab up`: starts every station of the topology, prints their
/// addresses, and stops them all on Ctrl-C or when one of them exits.
pub fn run_up(args: UpArgs) -> anyhow::Result<ExitCode> {
    if !(args.ready_timeout_s.is_finite() && args.ready_timeout_s > 0.0) {
        return Err(InputError(format!(
            "invalid --ready-timeout-s {}: pass a number of seconds > 0",
            args.ready_timeout_s
        ))
        .into());
    }
    let children = child_specs(&args)?;

    let runtime = tokio::runtime::Runtime::new().context("failed to start the tokio runtime")?;
    runtime.block_on(supervise(
        children,
        Duration::from_secs_f64(args.ready_timeout_s),
    ))
}

/// Builds one child per station: this binary running `serve STATION`.
fn child_specs(args: &UpArgs) -> anyhow::Result<Vec<ChildSpec>> {
    let topology = match &args.topology {
        Some(path) => Topology::from_path(path).map_err(|error| InputError(error.to_string()))?,
        None => Topology::reference(),
    };
    let program =
        std::env::current_exe().context("failed to find the path of the queuelab binary")?;

    let mut children = Vec::with_capacity(topology.stations.len());
    for station in &topology.stations {
        if !names::ALL.contains(&station.name.as_str()) {
            return Err(InputError(format!(
                "the topology has station {:?}, which no service implements; \
                 the mesh runs api-gateway, user, product, order, payment and database",
                station.name
            ))
            .into());
        }
        let address = station_address(&topology, &station.name)
            .map_err(|error| InputError(error.to_string()))?;
        let address: SocketAddr = address.parse().map_err(|error| {
            InputError(format!(
                "invalid address {address:?} of station {} in the topology: {error}; use HOST:PORT",
                station.name
            ))
        })?;

        let mut child_args: Vec<OsString> = vec![
            "serve".into(),
            station.name.clone().into(),
            "--listen".into(),
            address.to_string().into(),
            "--seed".into(),
            args.seed.to_string().into(),
        ];
        if let Some(path) = &args.topology {
            child_args.push("--topology".into());
            child_args.push(path.into());
        }
        children.push(ChildSpec {
            name: station.name.clone(),
            program: program.clone(),
            args: child_args,
            address,
        });
    }
    Ok(children)
}

async fn supervise(children: Vec<ChildSpec>, ready_timeout: Duration) -> anyhow::Result<ExitCode> {
    let mut mesh = Mesh::start(children, ready_timeout)
        .await
        .context("the mesh failed to start, so every station was stopped")?;

    println!("mesh is up:");
    for (name, address) in mesh.addresses() {
        println!("  {name:<12} {address}");
    }
    println!("press Ctrl-C to stop");

    let code = tokio::select! {
        result = tokio::signal::ctrl_c() => {
            if let Err(error) = result {
                eprintln!("error: failed to watch Ctrl-C: {error}; stopping the mesh");
            }
            ExitCode::SUCCESS
        }
        (name, status) = mesh.wait_for_exit() => {
            eprintln!("error: station {name} exited with {status}; stopping the others");
            ExitCode::from(1)
        }
    };

    for (name, status) in mesh.stop(STOP_GRACE).await {
        match status {
            Some(status) => println!("stopped {name}: {status}"),
            None => println!("stopped {name}: exit status unknown"),
        }
    }
    Ok(code)
}

/// Runs `queuelab serve STATION`: one station in this process until SIGINT
/// or SIGTERM.
pub fn run_serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    Ok(run_service(&args.station, &args.service, serve_station))
}

type ServeFuture = Pin<Box<dyn Future<Output = Result<(), ServeError>> + Send>>;

fn serve_station(config: ServiceConfig, shutdown: Shutdown) -> ServeFuture {
    match config.station.as_str() {
        names::API_GATEWAY => Box::pin(queuelab_api_gateway::serve(config, shutdown)),
        names::USER => Box::pin(queuelab_user::serve(config, shutdown)),
        names::PRODUCT => Box::pin(queuelab_product::serve(config, shutdown)),
        names::ORDER => Box::pin(queuelab_order::serve(config, shutdown)),
        names::PAYMENT => Box::pin(queuelab_payment::serve(config, shutdown)),
        names::DATABASE => Box::pin(queuelab_database::serve(config, shutdown)),
        other => unreachable!("clap accepts only the six station names, got {other:?}"),
    }
}
