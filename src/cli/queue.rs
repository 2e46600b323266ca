//! `queuelab mm1` and `queuelab mmc`: one station, all its metrics.

use std::process::ExitCode;

use clap::Args;
use queuelab_engine::{
    DEFAULT_TARGET_UTILIZATION, Metrics, Mg1, Mmc, Mmck, Outcome, Overload, Quantiles,
    ServiceDistribution, servers_for_stability, servers_for_utilization,
};
use queuelab_topology::format_duration_s;
use serde::Serialize;

use super::values::{non_negative, positive_duration_s, positive_rate, utilization};

/// Flags of `queuelab mm1`.
#[derive(Debug, Args)]
pub struct Mm1Args {
    /// Arrival rate λ, requests per second.
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    arrival_rate: f64,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Flags of `queuelab mmc`.
#[derive(Debug, Args)]
pub struct MmcArgs {
    /// Number of servers c.
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u64).range(1..))]
    servers: u64,
    /// Arrival rate λ, requests per second.
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    arrival_rate: f64,
    /// Capacity K: requests waiting plus in service (M/M/c/K); unlimited when absent.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    capacity: Option<u64>,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Flags of `queuelab mg1`.
#[derive(Debug, Args)]
pub struct Mg1Args {
    /// Arrival rate λ, requests per second.
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    arrival_rate: f64,
    /// Squared coefficient of variation of the service time (variance / mean²):
    /// 0 is deterministic (M/D/1), 1 exponential; others use a gamma distribution.
    #[arg(long, value_name = "SCV", default_value_t = 1.0, value_parser = non_negative, allow_hyphen_values = true)]
    scv: f64,
    #[command(flatten)]
    service: ServiceArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The service rate, given as a rate or as a mean time.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ServiceArgs {
    /// Service rate μ of one server, requests per second.
    #[arg(long, value_name = "MU", value_parser = positive_rate, allow_hyphen_values = true)]
    service_rate: Option<f64>,
    /// Mean service time 1/μ with a unit, for example 2.5ms or 800us.
    #[arg(long, value_name = "DURATION", value_parser = positive_duration_s, allow_hyphen_values = true)]
    service_time: Option<f64>,
}

impl ServiceArgs {
    fn rate(&self) -> f64 {
        match (self.service_rate, self.service_time) {
            (Some(rate), _) => rate,
            (None, Some(time)) => 1.0 / time,
            (None, None) => unreachable!("clap requires one of the two"),
        }
    }
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// Utilization that the server advice aims for, as 0.7 or 70%.
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_TARGET_UTILIZATION, value_parser = utilization)]
    target_utilization: f64,
    /// Write JSON in SI units (seconds, requests per second) instead of a table.
    #[arg(long)]
    json: bool,
}

/// The JSON form of a single-station result.
#[derive(Debug, Serialize)]
struct Report {
    model: String,
    arrival_rate: f64,
    service_rate: f64,
    servers: u64,
    capacity: Option<u64>,
    stable: bool,
    utilization: f64,
    #[serde(flatten)]
    metrics: Option<StableMetrics>,
    littles_law_residual: Option<f64>,
    waiting_time: Option<Quantiles>,
    sojourn_time: Option<Quantiles>,
    min_servers_for_stability: u64,
    servers_for_target_utilization: u64,
    target_utilization: f64,
}

/// The metrics of a stable station, without the fields the report already has.
#[derive(Debug, Serialize)]
struct StableMetrics {
    throughput: f64,
    p0: f64,
    probability_of_waiting: f64,
    probability_of_loss: f64,
    mean_queue_length: f64,
    mean_number_in_system: f64,
    mean_waiting_time: f64,
    mean_sojourn_time: f64,
}

impl From<&Metrics> for StableMetrics {
    fn from(metrics: &Metrics) -> Self {
        StableMetrics {
            throughput: metrics.throughput,
            p0: metrics.p0,
            probability_of_waiting: metrics.probability_of_waiting,
            probability_of_loss: metrics.probability_of_loss,
            mean_queue_length: metrics.mean_queue_length,
            mean_number_in_system: metrics.mean_number_in_system,
            mean_waiting_time: metrics.mean_waiting_time,
            mean_sojourn_time: metrics.mean_sojourn_time,
        }
    }
}

/// Runs `queuelab mm1`.
pub fn run_mm1(args: Mm1Args) -> anyhow::Result<ExitCode> {
    solve_and_print(
        "M/M/1",
        args.arrival_rate,
        args.service.rate(),
        1,
        None,
        &args.output,
    )
}

/// Runs `queuelab mmc`.
pub fn run_mmc(args: MmcArgs) -> anyhow::Result<ExitCode> {
    if let Some(capacity) = args.capacity
        && capacity < args.servers
    {
        return Err(super::InputError(format!(
            "invalid --capacity {capacity}: K counts requests waiting and in service, so it must be at least \
             --servers {}",
            args.servers
        ))
        .into());
    }
    let model = if args.capacity.is_some() {
        "M/M/c/K"
    } else {
        "M/M/c"
    };
    solve_and_print(
        model,
        args.arrival_rate,
        args.service.rate(),
        args.servers,
        args.capacity,
        &args.output,
    )
}

/// Builds a report with the load's figures and no solution yet.
fn empty_report(
    model: &str,
    arrival_rate: f64,
    service_rate: f64,
    servers: u64,
    capacity: Option<u64>,
    output: &OutputArgs,
) -> Report {
    let offered_load = arrival_rate / service_rate;
    Report {
        model: model.to_owned(),
        arrival_rate,
        service_rate,
        servers,
        capacity,
        stable: true,
        utilization: offered_load / servers as f64,
        metrics: None,
        littles_law_residual: None,
        waiting_time: None,
        sojourn_time: None,
        min_servers_for_stability: servers_for_stability(offered_load),
        servers_for_target_utilization: servers_for_utilization(
            offered_load,
            output.target_utilization,
        ),
        target_utilization: output.target_utilization,
    }
}

fn solve_and_print(
    model: &str,
    arrival_rate: f64,
    service_rate: f64,
    servers: u64,
    capacity: Option<u64>,
    output: &OutputArgs,
) -> anyhow::Result<ExitCode> {
    let mut report = empty_report(model, arrival_rate, service_rate, servers, capacity, output);
    let invalid = |error: queuelab_engine::ModelError| super::InputError(error.to_string());
    match capacity {
        Some(capacity) => {
            let queue =
                Mmck::solve(arrival_rate, service_rate, servers, capacity).map_err(invalid)?;
            let metrics = queue.metrics();
            report.utilization = metrics.utilization;
            report.littles_law_residual = Some(metrics.littles_law_residual());
            report.waiting_time = Some(queue.waiting_time_quantiles());
            let solved = queuelab_engine::SolvedStation::Mmck(queue);
            report.sojourn_time = Some(solved.sojourn_time_quantiles());
            report.metrics = Some(StableMetrics::from(&metrics));
        }
        None => match Mmc::solve(arrival_rate, service_rate, servers).map_err(invalid)? {
            Outcome::Stable(queue) => {
                let metrics = queue.metrics();
                report.littles_law_residual = Some(metrics.littles_law_residual());
                report.waiting_time = Some(queue.waiting_time_quantiles());
                report.sojourn_time = Some(queue.sojourn_time_quantiles());
                report.metrics = Some(StableMetrics::from(&metrics));
            }
            Outcome::Unstable(Overload { .. }) => report.stable = false,
        },
    }
    print_report(&report, output)
}

/// Runs `queuelab mg1`.
pub fn run_mg1(args: Mg1Args) -> anyhow::Result<ExitCode> {
    let (distribution, model) = match args.scv {
        0.0 => (ServiceDistribution::Deterministic, "M/D/1"),
        1.0 => (ServiceDistribution::Exponential, "M/M/1"),
        scv => (ServiceDistribution::Gamma { scv }, "M/G/1"),
    };
    let service_rate = args.service.rate();
    let mut report = empty_report(
        model,
        args.arrival_rate,
        service_rate,
        1,
        None,
        &args.output,
    );

    let invalid = |error: queuelab_engine::ModelError| super::InputError(error.to_string());
    match Mg1::solve(args.arrival_rate, 1.0 / service_rate, distribution).map_err(invalid)? {
        Outcome::Stable(queue) => {
            let metrics = queue.metrics();
            report.littles_law_residual = Some(metrics.littles_law_residual());
            report.waiting_time = Some(Quantiles::from_fn(|q| {
                queue.waiting_time_quantile(q).unwrap_or(f64::NAN)
            }));
            report.sojourn_time = Some(queue.sojourn_time_quantiles());
            report.metrics = Some(StableMetrics::from(&metrics));
        }
        Outcome::Unstable(_) => report.stable = false,
    }
    print_report(&report, &args.output)
}

fn print_report(report: &Report, output: &OutputArgs) -> anyhow::Result<ExitCode> {
    if output.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print_table(report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(report: &Report) {
    let capacity = report
        .capacity
        .map_or(String::new(), |k| format!(", K = {k}"));
    println!(
        "{}: λ = {:.1}/s, μ = {:.1}/s per server (mean service time {}), c = {}{capacity}",
        report.model,
        report.arrival_rate,
        report.service_rate,
        format_duration_s(1.0 / report.service_rate),
        report.servers,
    );
    let target = report.target_utilization * 100.0;

    let Some(metrics) = &report.metrics else {
        println!(
            "unstable: utilization ρ = λ/(c·μ) = {:.3} is at least 1, so the queue grows without bound",
            report.utilization
        );
        println!(
            "servers needed for stability:   {}",
            report.min_servers_for_stability
        );
        println!(
            "servers for {target:.0} % utilization: {}",
            report.servers_for_target_utilization
        );
        return;
    };

    let row = |name: &str, value: String| println!("  {name:<34} {value}");
    row("utilization ρ", format!("{:.4}", report.utilization));
    row("throughput X", format!("{:.3}/s", metrics.throughput));
    row("P0 (station empty)", format!("{:.6}", metrics.p0));
    row(
        "probability of waiting",
        format!("{:.6}", metrics.probability_of_waiting),
    );
    if report.capacity.is_some() {
        row(
            "probability of loss",
            format!("{:.6}", metrics.probability_of_loss),
        );
    }
    row(
        "Lq (mean queue length)",
        format!("{:.6}", metrics.mean_queue_length),
    );
    row(
        "L (mean number in system)",
        format!("{:.6}", metrics.mean_number_in_system),
    );
    row(
        "Wq (mean waiting time)",
        format_duration_s(metrics.mean_waiting_time),
    );
    row(
        "W (mean sojourn time)",
        format_duration_s(metrics.mean_sojourn_time),
    );
    if let Some(residual) = report.littles_law_residual {
        row(
            "Little's law L = X·W",
            format!("holds (relative gap {residual:.1e})"),
        );
    }
    for (name, quantiles) in [
        ("waiting time", &report.waiting_time),
        ("sojourn time", &report.sojourn_time),
    ] {
        if let Some(q) = quantiles {
            row(
                &format!("{name} p50/p90/p95/p99/p99.9"),
                [q.p50, q.p90, q.p95, q.p99, q.p99_9]
                    .map(format_duration_s)
                    .join(" / "),
            );
        }
    }
    if report.utilization > report.target_utilization {
        println!(
            "utilization is above {target:.0} %: {} servers keep it at or below that",
            report.servers_for_target_utilization
        );
    }
}
