//! Subcommands of `queuelab`, one module each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod experiment;
mod host;
mod io_bench;
mod load;
mod model;
mod probe;
mod queue;
mod recommend;
mod up;
mod values;

/// Check queueing-theory predictions against real traffic.
#[derive(Debug, Parser)]
#[command(name = "queuelab", version, about, propagate_version = true)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mesh, drive it with Poisson traffic, and set the measured
    /// latencies beside the model's predictions, station by station and end to end.
    Demo(demo::DemoArgs),
    /// Drive a running mesh with Poisson traffic and have its analysis service
    /// compare the measurements with the model (as the demo does, without starting anything).
    Experiment(experiment::ExperimentArgs),
    /// Predict a network of stations from a topology file: per-station and end-to-end
    /// latency, the bottleneck and the largest stable rate.
    Model(model::ModelArgs),
    /// Solve an M/M/1 queue: utilization, queue lengths, waiting and sojourn times and
    /// their quantiles, or the servers an unstable load needs.
    Mm1(queue::Mm1Args),
    /// Solve an M/M/c queue, or M/M/c/K with --capacity.
    Mmc(queue::MmcArgs),
    /// Solve an M/G/1 queue (Pollaczek–Khinchine) from the service time's mean
    /// and squared coefficient of variation; --scv 0 is M/D/1.
    Mg1(queue::Mg1Args),
    /// Sample the host (or one process) and report CPU, memory and disk
    /// figures with the bottleneck indicators that fired.
    Host(host::HostArgs),
    /// Benchmark a directory's file system: sequential and random 4 KiB I/O,
    /// MB/s, IOPS and latency percentiles.
    IoBench(io_bench::IoBenchArgs),
    /// Rank instance types and size memory from measured figures (heuristics).
    Recommend(recommend::RecommendArgs),
    /// Send open-loop Poisson traffic to the gateway and report end-to-end
    /// latency per measurement window.
    Load(queuelab_loadgen::LoadArgs),
    /// Start the six stations of the mesh on 127.0.0.1 as child processes,
    /// wait until all are healthy and print their addresses; Ctrl-C stops them.
    Up(up::UpArgs),
    /// Serve one station of the mesh in this process (run by `queuelab up`).
    #[command(hide = true)]
    Serve(up::ServeArgs),
    /// Serve the analysis service in this process (run by `queuelab demo`).
    #[command(hide = true)]
    ServeAnalysis(queuelab_analysis_service::launch::AnalysisArgs),
    /// Check a server's grpc.health.v1 status: exit 0 when SERVING, 1 otherwise
    /// (for container health checks).
    #[command(hide = true)]
    Probe(probe::ProbeArgs),
}

/// Runs the chosen subcommand and returns the process exit code.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Demo(args) => demo::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Model(args) => model::run(args),
        Command::Mm1(args) => queue::run_mm1(args),
        Command::Mmc(args) => queue::run_mmc(args),
        Command::Mg1(args) => queue::run_mg1(args),
        Command::Host(args) => host::run(args),
        Command::IoBench(args) => io_bench::run(args),
        Command::Recommend(args) => recommend::run(args),
        Command::Load(args) => load::run(&args),
        Command::Up(args) => up::run_up(args),
        Command::Serve(args) => up::run_serve(args),
        Command::ServeAnalysis(args) => {
            queuelab_station::launch::init_tracing();
            Ok(queuelab_analysis_service::launch::run(&args))
        }
        Command::Probe(args) => probe::run(args),
    }
}

/// An error the user can fix by changing the input: a bad flag value or file.
///
/// It exits with status 2, like clap's own usage errors; every other error
/// exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Maps an error to the process exit code: 2 for input errors, 1 otherwise.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| cause.is::<InputError>()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
