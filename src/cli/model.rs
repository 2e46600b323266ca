//! `queuelab model`: the network's predictions, station by station and end to end.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use queuelab_engine::{DEFAULT_PLANNING_TARGET, NetworkSolution, ResponseOptions};
use queuelab_topology::{Topology, format_duration_s};
use serde::Serialize;

use super::InputError;
use super::values::{positive_factor, positive_rate, utilization};

/// Flags of `queuelab model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Topology file (TOML); the built-in reference architecture when absent.
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// Total external arrival rate, requests per second; replaces the file's
    /// rates, keeping each entry station's share.
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    rate: Option<f64>,
    /// Multiplies the external rate, to predict the system at a multiple of its load.
    #[arg(long, value_name = "FACTOR", value_parser = positive_factor, default_value_t = 1.0, allow_hyphen_values = true)]
    scale: f64,
    /// Utilization the capacity plan aims for, as 0.7 or 70%.
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_PLANNING_TARGET, value_parser = utilization)]
    target_utilization: f64,
    /// Requests simulated for end-to-end quantiles when the call graph has cycles.
    #[arg(long, value_name = "N", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1000..))]
    simulated_requests: u64,
    /// Seed of that simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write JSON in SI units (seconds, requests per second) instead of a table.
    #[arg(long)]
    json: bool,
}

/// The JSON form: the solution plus the capacity plan.
#[derive(Debug, Serialize)]
struct Report<'a> {
    topology: String,
    #[serde(flatten)]
    solution: &'a NetworkSolution,
    target_utilization: f64,
    servers_for_target_utilization: Vec<PlannedStation>,
}

#[derive(Debug, Serialize)]
struct PlannedStation {
    name: String,
    servers: u64,
}

/// Reads the topology named by `path`, or the built-in reference.
pub fn load_topology(path: Option<&std::path::Path>) -> anyhow::Result<(Topology, String)> {
    match path {
        None => Ok((Topology::reference(), "reference (built in)".to_owned())),
        Some(path) => {
            let topology =
                Topology::from_path(path).map_err(|error| InputError(error.to_string()))?;
            Ok((topology, path.display().to_string()))
        }
    }
}

/// Runs `queuelab model`.
pub fn run(args: ModelArgs) -> anyhow::Result<ExitCode> {
    let (topology, origin) = load_topology(args.topology.as_deref())?;
    let base_rate = args.rate.unwrap_or_else(|| topology.external_rate());
    let topology = topology.with_external_rate(base_rate * args.scale);

    let network = topology
        .to_network()
        .map_err(|error| InputError(error.to_string()))?;
    let options = ResponseOptions {
        simulated_requests: args.simulated_requests,
        seed: args.seed,
        spectrum_levels: Vec::new(),
    };
    let solution = network
        .solve(&options)
        .map_err(|error| InputError(error.to_string()))?;
    let plan = network
        .servers_for_target(args.target_utilization)
        .context("failed to plan servers")?
        .into_iter()
        .map(|(name, servers)| PlannedStation { name, servers })
        .collect();

    let report = Report {
        topology: origin,
        solution: &solution,
        target_utilization: args.target_utilization,
        servers_for_target_utilization: plan,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(report: &Report<'_>) {
    let solution = report.solution;
    println!(
        "topology: {}; external rate {:.1}/s",
        report.topology, solution.external_rate
    );
    println!();
    println!(
        "{:<12} {:>3} {:>8} {:>7} {:>9} {:>6}  {:>10} {:>10} {:>10} {:>10} {:>10}  model",
        "station", "c", "μ/s", "visits", "λ/s", "ρ", "Wq", "W", "p50", "p90", "p99"
    );
    for station in &solution.stations {
        let time = |value: Option<f64>| value.map_or("-".to_owned(), format_duration_s);
        let quantile = |pick: fn(&queuelab_engine::Quantiles) -> f64| {
            time(station.sojourn_time.as_ref().map(pick))
        };
        println!(
            "{:<12} {:>3} {:>8.1} {:>7.3} {:>9.1} {:>6.3}  {:>10} {:>10} {:>10} {:>10} {:>10}  {}",
            station.name,
            station.servers,
            station.service_rate,
            station.visit_ratio,
            station.arrival_rate,
            station.utilization,
            time(station.mean_waiting_time),
            time(station.mean_sojourn_time),
            quantile(|q| q.p50),
            quantile(|q| q.p90),
            quantile(|q| q.p99),
            station.model,
        );
    }
    println!();

    match &solution.end_to_end {
        Some(end_to_end) => {
            let q = &end_to_end.response_time;
            println!(
                "end to end: mean {}, p50 {}, p90 {}, p99 {}, p99.9 {} ({})",
                format_duration_s(end_to_end.mean_response_time),
                format_duration_s(q.p50),
                format_duration_s(q.p90),
                format_duration_s(q.p99),
                format_duration_s(q.p99_9),
                end_to_end.method,
            );
        }
        None => {
            println!("end to end: no steady state, because these stations are unstable:");
            for station in solution.unstable_stations() {
                if let Some(overload) = &station.overload {
                    println!(
                        "  {}: ρ = {:.3}; needs {} servers for stability, {} for {:.0} % utilization",
                        station.name,
                        overload.utilization,
                        overload.min_servers_for_stability,
                        overload.servers_for_target_utilization,
                        overload.target_utilization * 100.0,
                    );
                }
            }
        }
    }
    println!(
        "bottleneck: {}; largest stable external rate {:.1}/s (the current rate is {:.1} % of it)",
        solution.bottleneck,
        solution.max_external_rate,
        100.0 * solution.external_rate / solution.max_external_rate,
    );

    let changes: Vec<String> = solution
        .stations
        .iter()
        .zip(&report.servers_for_target_utilization)
        .filter(|(station, plan)| station.servers != plan.servers)
        .map(|(station, plan)| format!("{} {} → {}", station.name, station.servers, plan.servers))
        .collect();
    let target = report.target_utilization * 100.0;
    if changes.is_empty() {
        println!(
            "capacity plan: the configured servers are the fewest that keep every station at or below {target:.0} %"
        );
    } else {
        println!(
            "fewest servers for at most {target:.0} % utilization: {} (others unchanged)",
            changes.join(", ")
        );
    }
    println!(
        "assumptions: Poisson arrivals, FCFS stations solved independently (Kleinrock independence), \
         no transport overhead"
    );
}
