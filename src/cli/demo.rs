//! `queuelab demo`: the whole loop on this machine. It starts the mesh and
//! the analysis service as child processes, drives the gateway with the
//! open-loop load generator, and prints the measured figures beside the
//! model's predictions.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use queuelab_station::names;
use queuelab_station::supervisor::{ChildSpec, Mesh};
use queuelab_topology::Topology;

use super::InputError;
use super::experiment::{LoadSettings, run_experiments};
use super::model::load_topology;

/// Time every child gets to report healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Time the children get to drain before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Flags of `queuelab demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    load: LoadSettings,
}

/// Runs `queuelab demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // The children inherit the environment: without a RUST_LOG of the user's,
    // they log warnings and errors only, so the demo's own output stays readable.
    if std::env::var_os("RUST_LOG").is_none() {
        // SAFETY: no other thread exists yet; the runtime starts below.
        unsafe { std::env::set_var("RUST_LOG", "warn") };
    }
    let (topology, origin) = load_topology(args.load.topology.as_deref())?;
    check_services(&topology)?;
    let out = args.load.prepare_out()?;

    let runtime = tokio::runtime::Runtime::new().context("failed to start the tokio runtime")?;
    runtime.block_on(async {
        let children = child_specs(&args.load, &topology)?;
        let mut mesh = Mesh::start(children.specs.clone(), READY_TIMEOUT)
            .await
            .context("the mesh failed to start, so every process it started was stopped")?;
        eprintln!("mesh and analysis service are up on 127.0.0.1 (gateway {})", children.gateway);

        let (gateway, analysis) = (children.gateway.to_string(), children.analysis.to_string());
        let outcome = tokio::select! {
            outcome = run_experiments(&args.load, &topology, &origin, &gateway, &analysis, &out) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted by Ctrl-C")),
            (name, status) = mesh.wait_for_exit() => Err(anyhow::anyhow!("{name} exited with {status} during the demo")),
        };

        eprintln!("stopping the mesh");
        mesh.stop(STOP_GRACE).await;
        outcome.map(|()| ExitCode::SUCCESS)
    })
}

/// Rejects a topology with a station that no service implements.
fn check_services(topology: &Topology) -> anyhow::Result<()> {
    for station in &topology.stations {
        if !names::ALL.contains(&station.name.as_str()) {
            return Err(InputError(format!(
                "the topology has station {:?}, which no service implements; the demo runs api-gateway, \
                 user, product, order, payment and database",
                station.name
            ))
            .into());
        }
    }
    Ok(())
}

/// The processes of the demo and where they listen.
struct Children {
    specs: Vec<ChildSpec>,
    gateway: SocketAddr,
    analysis: SocketAddr,
}

/// Returns a port on 127.0.0.1 that is free now.
///
/// NOTE: another process may take the port before the child binds it; the
/// child then fails to start and the demo reports which one.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("failed to find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// Builds one child per station plus the analysis service, each on a free port.
fn child_specs(args: &LoadSettings, topology: &Topology) -> anyhow::Result<Children> {
    let program =
        std::env::current_exe().context("failed to find the path of the queuelab binary")?;
    let mut addresses = BTreeMap::new();
    for station in &topology.stations {
        addresses.insert(station.name.clone(), free_port()?);
    }
    let peers: Vec<String> = addresses
        .iter()
        .map(|(name, address)| format!("{name}={address}"))
        .collect();
    let topology_args: Vec<OsString> = match &args.topology {
        Some(path) => vec!["--topology".into(), path.into()],
        None => Vec::new(),
    };

    let mut specs = Vec::new();
    for (name, address) in &addresses {
        let mut child_args: Vec<OsString> = vec![
            "serve".into(),
            name.into(),
            "--listen".into(),
            address.to_string().into(),
            "--seed".into(),
            args.seed.to_string().into(),
            "--peer".into(),
            peers.join(",").into(),
        ];
        child_args.extend(topology_args.iter().cloned());
        specs.push(ChildSpec {
            name: name.clone(),
            program: program.clone(),
            args: child_args,
            address: *address,
        });
    }

    let analysis = free_port()?;
    let mut analysis_args: Vec<OsString> = vec![
        "serve-analysis".into(),
        "--listen".into(),
        analysis.to_string().into(),
        "--station".into(),
        peers.join(",").into(),
    ];
    analysis_args.extend(topology_args);
    specs.push(ChildSpec {
        name: "analysis".into(),
        program,
        args: analysis_args,
        address: analysis,
    });

    let gateway = *addresses.get(names::API_GATEWAY).ok_or_else(|| {
        InputError("the topology has no api-gateway station, which the load generator calls".into())
    })?;
    Ok(Children {
        specs,
        gateway,
        analysis,
    })
}
