//! `queuelab recommend`: heuristic instance-type ranking and memory sizing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytesize::ByteSize;
use queuelab_agent::AgentReport;
use queuelab_sizing::{
    Catalog, ContainerMemory, HostScaling, RankedInstance, WorkloadProfile, buffer_pool_bytes,
    container_memory, function_tier_mib, host_scaling, rank,
};
use serde::Serialize;

use super::InputError;
use super::io_bench::parse_bytes;

/// Instance types shown.
const TOP_COUNT: usize = 3;

/// A workload counts as bursty when its p95 CPU is at least this multiple of its mean.
const BURSTY_P95_TO_AVG: f64 = 2.0;

const DISCLAIMER: &str = "These are heuristics (rules of thumb), not capacity models: \
                          check the chosen size by measuring it under load.";

/// Arguments of `queuelab recommend`.
#[derive(Debug, clap::Args)]
pub struct RecommendArgs {
    /// JSON report of `queuelab host --json` to take the CPU and memory figures from.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["avg_cpu", "p95_cpu", "threads", "bursty"])]
    profile: Option<PathBuf>,

    /// Mean CPU usage in percent of one vCPU (250 = 2.5 busy vCPUs).
    #[arg(long, value_name = "PERCENT", requires = "p95_cpu")]
    avg_cpu: Option<f64>,

    /// 95th-percentile CPU usage in percent of one vCPU.
    #[arg(long, value_name = "PERCENT", requires = "avg_cpu")]
    p95_cpu: Option<f64>,

    /// Threads that run in parallel. Default: the vCPUs the p95 keeps busy, rounded up.
    #[arg(long, value_name = "N")]
    threads: Option<u32>,

    /// The load comes in bursts with idle time between them.
    #[arg(long)]
    bursty: bool,

    /// TOML instance catalog replacing the built-in one (see docs/host-tools.md).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,

    /// Resident set size of the process, with a unit (300MiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    rss: Option<u64>,

    /// RSS growth per second, with a unit (4KiB means 4 KiB/s).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    rss_growth: Option<u64>,

    /// Share of host memory in use: 0.85 or 85%.
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    host_memory_use: Option<f64>,

    /// Host memory size for the database buffer pool, with a unit (16GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    host_memory: Option<u64>,

    /// Write the advice as JSON (bytes, seconds, bytes per second) to standard output.
    #[arg(long)]
    json: bool,
}

/// The inputs every piece of advice was computed from, and where they came from.
#[derive(Debug, Default, Serialize)]
struct Inputs {
    source: String,
    workload: Option<WorkloadProfile>,
    threads_assumed: bool,
    rss_bytes: Option<u64>,
    rss_growth_bytes_per_s: Option<f64>,
    host_memory_used_ratio: Option<f64>,
    host_memory_bytes: Option<u64>,
    catalog: String,
}

/// Everything `recommend` prints.
#[derive(Debug, Serialize)]
struct Advice {
    disclaimer: &'static str,
    inputs: Inputs,
    instance_ranking: Option<Vec<RankedInstance>>,
    function_memory_tier_bytes: Option<u64>,
    container_memory: Option<ContainerMemory>,
    host_scaling: Option<HostScaling>,
    buffer_pool_bytes: Option<(u64, u64)>,
}

/// Parses a share as a fraction (0.85) or a percentage (85%).
fn parse_share(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let value = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    }
    .map_err(|_| {
        format!("invalid share {text:?}: write a fraction such as 0.85 or a percentage such as 85%")
    })?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "invalid share {text:?}: it must be between 0 and 1 (0 % to 100 %)"
        ))
    }
}

/// Computes and prints the advice.
pub fn run(args: RecommendArgs) -> anyhow::Result<ExitCode> {
    let (catalog, catalog_name) = load_catalog(args.catalog.as_deref())?;
    let mut inputs = match &args.profile {
        Some(path) => inputs_from_profile(path)?,
        None => inputs_from_flags(&args),
    };
    inputs.catalog = catalog_name;
    override_memory_inputs(&mut inputs, &args);

    if inputs.workload.is_none()
        && inputs.rss_bytes.is_none()
        && inputs.host_memory_used_ratio.is_none()
        && inputs.host_memory_bytes.is_none()
    {
        return Err(InputError(
            "nothing to recommend from: pass --profile FILE, or --avg-cpu and --p95-cpu, \
             or --rss, --host-memory-use or --host-memory"
                .into(),
        )
        .into());
    }

    let instance_ranking = match &inputs.workload {
        Some(workload) => Some(
            rank(&catalog, workload, TOP_COUNT).map_err(|error| InputError(error.to_string()))?,
        ),
        None => None,
    };
    let advice = Advice {
        disclaimer: DISCLAIMER,
        instance_ranking,
        function_memory_tier_bytes: inputs
            .rss_bytes
            .and_then(function_tier_mib)
            .map(|mib| mib * 1024 * 1024),
        container_memory: inputs
            .rss_bytes
            .map(|rss| container_memory(rss, inputs.rss_growth_bytes_per_s.unwrap_or(0.0))),
        host_scaling: inputs.host_memory_used_ratio.map(host_scaling),
        buffer_pool_bytes: inputs.host_memory_bytes.map(buffer_pool_bytes),
        inputs,
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&advice)?);
    } else {
        print!("{}", format_advice(&advice));
    }
    Ok(ExitCode::SUCCESS)
}

fn load_catalog(path: Option<&Path>) -> anyhow::Result<(Catalog, String)> {
    let Some(path) = path else {
        return Ok((
            Catalog::builtin(),
            "built-in (c5 and t3 on-demand prices)".into(),
        ));
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError(format!(
            "failed to read catalog {}: {error}",
            path.display()
        ))
    })?;
    let catalog = Catalog::from_toml(&text)
        .map_err(|error| InputError(format!("{}: {error}", path.display())))?;
    Ok((catalog, path.display().to_string()))
}

fn inputs_from_flags(args: &RecommendArgs) -> Inputs {
    let workload = match (args.avg_cpu, args.p95_cpu) {
        (Some(avg_cpu_percent), Some(p95_cpu_percent)) => Some(WorkloadProfile {
            avg_cpu_percent,
            p95_cpu_percent,
            threads: args.threads.unwrap_or_else(|| busy_vcpus(p95_cpu_percent)),
            bursty: args.bursty,
        }),
        _ => None,
    };
    Inputs {
        source: "command-line flags".into(),
        threads_assumed: workload.is_some() && args.threads.is_none(),
        workload,
        ..Inputs::default()
    }
}

/// Takes the figures from a `queuelab host --json` report: the followed
/// process when there is one, else the whole host (its CPU % times its cores).
fn inputs_from_profile(path: &Path) -> anyhow::Result<Inputs> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError(format!(
            "failed to read profile {}: {error}",
            path.display()
        ))
    })?;
    let report: AgentReport = serde_json::from_str(&text).map_err(|error| {
        InputError(format!(
            "invalid profile {}: {error}; write one with `queuelab host --json > FILE`",
            path.display()
        ))
    })?;
    let summary = &report.summary;

    let (avg, p95, threads) = match &summary.process {
        Some(process) => (
            process.cpu_percent.avg,
            process.cpu_percent.p95,
            u32::try_from(process.threads).unwrap_or(u32::MAX),
        ),
        None => {
            let cores = summary.cores as f64;
            (
                summary.host_cpu_percent.avg * cores,
                summary.host_cpu_percent.p95 * cores,
                u32::try_from(summary.cores).unwrap_or(u32::MAX),
            )
        }
    };

    Ok(Inputs {
        source: format!("profile {}", path.display()),
        workload: Some(WorkloadProfile {
            avg_cpu_percent: avg,
            // A few rare spikes can lift the mean above the nearest-rank p95,
            // and an idle host has p95 = 0, so the p95 used is at least the mean
            // and at least 1 % of one vCPU.
            p95_cpu_percent: p95.max(avg).max(1.0),
            threads: threads.max(1),
            bursty: p95 >= BURSTY_P95_TO_AVG * avg && p95 > 0.0,
        }),
        threads_assumed: false,
        rss_bytes: summary.process.as_ref().map(|p| p.rss_bytes.max as u64),
        rss_growth_bytes_per_s: summary.process.as_ref().map(|p| p.rss_growth_bytes_per_s),
        host_memory_used_ratio: Some(summary.host_memory_used_ratio),
        host_memory_bytes: Some(summary.host_memory_total_bytes),
        catalog: String::new(),
    })
}

/// Memory flags win over the profile's figures.
fn override_memory_inputs(inputs: &mut Inputs, args: &RecommendArgs) {
    if let Some(rss) = args.rss {
        inputs.rss_bytes = Some(rss);
    }
    if let Some(growth) = args.rss_growth {
        inputs.rss_growth_bytes_per_s = Some(growth as f64);
    }
    if let Some(share) = args.host_memory_use {
        inputs.host_memory_used_ratio = Some(share);
    }
    if let Some(bytes) = args.host_memory {
        inputs.host_memory_bytes = Some(bytes);
    }
}

/// vCPUs that a p95 of `p95_cpu_percent` keeps busy, rounded up, at least 1.
fn busy_vcpus(p95_cpu_percent: f64) -> u32 {
    ((p95_cpu_percent / 100.0).ceil() as u32).max(1)
}

fn format_advice(advice: &Advice) -> String {
    let inputs = &advice.inputs;
    let mut lines = vec![
        advice.disclaimer.to_owned(),
        format!("Inputs from {}.", inputs.source),
        String::new(),
    ];

    match (&inputs.workload, &advice.instance_ranking) {
        (Some(workload), Some(ranking)) => {
            lines.push(format!(
                "Instance types (catalog: {}) for CPU avg {:.0} % and p95 {:.0} % of one vCPU, {} threads{}, {}:",
                inputs.catalog,
                workload.avg_cpu_percent,
                workload.p95_cpu_percent,
                workload.threads,
                if inputs.threads_assumed { " (assumed from p95)" } else { "" },
                if workload.bursty { "bursty" } else { "sustained" }
            ));
            lines.push(format!(
                "  {:<4} {:<12} {:>5} {:>9} {:>6} {:>9} {:>7} {:>6} {:>10}",
                "rank",
                "type",
                "vCPUs",
                "USD/hour",
                "score",
                "capacity",
                "threads",
                "burst",
                "vCPUs/USD"
            ));
            for (index, ranked) in ranking.iter().enumerate() {
                lines.push(format!(
                    "  {:<4} {:<12} {:>5} {:>9.4} {:>6.3} {:>9.2} {:>7.2} {:>6.2} {:>10.1}",
                    index + 1,
                    ranked.instance.name,
                    ranked.instance.vcpus,
                    ranked.instance.price_per_hour_usd,
                    ranked.score,
                    ranked.capacity_match,
                    ranked.thread_match,
                    ranked.burst_match,
                    ranked.vcpus_per_usd
                ));
            }
            lines.push(
                "  score = 0.5 × capacity + 0.25 × threads + 0.25 × burst (docs/host-tools.md)"
                    .into(),
            );
        }
        _ => {
            lines.push("Instance types: skipped, pass --avg-cpu and --p95-cpu or --profile.".into())
        }
    }
    lines.push(String::new());
    lines.extend(memory_lines(advice));
    lines.push(String::new());
    lines.join("\n")
}

fn memory_lines(advice: &Advice) -> Vec<String> {
    let inputs = &advice.inputs;
    let mut lines = Vec::new();

    match (inputs.rss_bytes, advice.function_memory_tier_bytes) {
        (Some(rss), Some(tier)) => lines.push(format!(
            "Function memory tier: {} (smallest tier of at least 1.2 × RSS {} = {})",
            ByteSize(tier),
            ByteSize(rss),
            ByteSize((rss as f64 * 1.2) as u64)
        )),
        (Some(rss), None) => lines.push(format!(
            "Function memory tier: none fits (1.2 × RSS {} is above the 3008 MiB tier)",
            ByteSize(rss)
        )),
        (None, _) => lines.push("Function memory tier: skipped, pass --rss.".into()),
    }

    match (inputs.rss_bytes, &advice.container_memory) {
        (Some(rss), Some(container)) => lines.push(format!(
            "Container memory: limit {}, request {} (limit = (RSS {} + 7 days × {:.0} B/s growth) × 1.3, request 80 %)",
            ByteSize(container.limit_bytes),
            ByteSize(container.request_bytes),
            ByteSize(rss),
            inputs.rss_growth_bytes_per_s.unwrap_or(0.0)
        )),
        _ => lines.push("Container memory: skipped, pass --rss (and --rss-growth).".into()),
    }

    match (inputs.host_memory_used_ratio, advice.host_scaling) {
        (Some(share), Some(scaling)) => {
            let action = match scaling {
                HostScaling::ScaleUp => "scale up (above 80 % in use)",
                HostScaling::Keep => "keep (between 30 % and 80 % in use)",
                HostScaling::ScaleDown => "scale down (below 30 % in use)",
            };
            lines.push(format!(
                "Host memory: {action}; {:.1} % in use",
                share * 100.0
            ));
        }
        _ => lines.push("Host memory: skipped, pass --host-memory-use.".into()),
    }

    match (inputs.host_memory_bytes, advice.buffer_pool_bytes) {
        (Some(host), Some((low, high))) => lines.push(format!(
            "Database buffer pool: {} to {} (70 % to 80 % of {} host memory, on a host dedicated to the database)",
            ByteSize(low),
            ByteSize(high),
            ByteSize(host)
        )),
        _ => lines.push("Database buffer pool: skipped, pass --host-memory.".into()),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_as_fraction_or_percent() {
        assert_eq!(parse_share("0.85"), Ok(0.85));
        assert_eq!(parse_share("85%"), Ok(0.85));
        assert!(parse_share("120%").is_err());
        assert!(parse_share("lots").is_err());
    }

    #[test]
    fn threads_default_to_busy_vcpus() {
        // p95 150 % keeps 1.5 vCPUs busy, so 2 threads. 20 % still needs 1.
        assert_eq!(busy_vcpus(150.0), 2);
        assert_eq!(busy_vcpus(200.0), 2);
        assert_eq!(busy_vcpus(20.0), 1);
    }

    #[test]
    fn host_profile_scales_cpu_by_cores() {
        // The agent's fixture window: 2 cores, host CPU 12 % and 18 % (mean 15 %,
        // p95 18 %), so 30 % and 36 % of one vCPU. 25 % of 8 GiB is in use.
        let samples: Vec<queuelab_agent::Sample> = serde_json::from_str(include_str!(
            "../../crates/agent/tests/fixtures/disk_window.json"
        ))
        .unwrap();
        let report = AgentReport::from_samples(&samples, &Default::default(), 0).unwrap();
        let path =
            std::env::temp_dir().join(format!("queuelab-profile-{}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();

        let inputs = inputs_from_profile(&path).unwrap();
        std::fs::remove_file(&path).unwrap();

        let workload = inputs.workload.unwrap();
        assert_eq!(workload.avg_cpu_percent, 30.0);
        assert_eq!(workload.p95_cpu_percent, 36.0);
        assert_eq!(workload.threads, 2);
        assert!(!workload.bursty, "p95 36 % is below 2 × avg 30 %");
        assert_eq!(inputs.host_memory_used_ratio, Some(0.25));
        assert_eq!(inputs.host_memory_bytes, Some(8 * 1024 * 1024 * 1024));
        assert_eq!(inputs.rss_bytes, None);
    }

    #[test]
    fn spiky_profile_keeps_p95_above_mean() {
        // One sample at 100 % among 20: mean 5 %, nearest-rank p95 0 %.
        let mut samples: Vec<queuelab_agent::Sample> = serde_json::from_str(include_str!(
            "../../crates/agent/tests/fixtures/disk_window.json"
        ))
        .unwrap();
        let template = samples.remove(0);
        let samples: Vec<queuelab_agent::Sample> = (0..20)
            .map(|index| {
                let mut sample = template.clone();
                sample.elapsed_s = f64::from(index);
                sample.host.cpu_percent = if index == 7 { 100.0 } else { 0.0 };
                sample
            })
            .collect();
        let report = AgentReport::from_samples(&samples, &Default::default(), 0).unwrap();
        let path = std::env::temp_dir().join(format!(
            "queuelab-spiky-profile-{}.json",
            std::process::id()
        ));
        std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();

        let inputs = inputs_from_profile(&path).unwrap();
        std::fs::remove_file(&path).unwrap();

        // Two cores: mean 5 % × 2 = 10 % of one vCPU, and p95 raised to it.
        let workload = inputs.workload.unwrap();
        assert_eq!(workload.avg_cpu_percent, 10.0);
        assert_eq!(workload.p95_cpu_percent, 10.0);
        assert!(workload.validate().is_ok());
    }

    #[test]
    fn invalid_profile_is_input_error() {
        let path =
            std::env::temp_dir().join(format!("queuelab-bad-profile-{}.json", std::process::id()));
        std::fs::write(&path, "{}").unwrap();

        let error = inputs_from_profile(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();

        assert!(error.is::<InputError>());
        assert!(
            error.to_string().contains("queuelab host --json"),
            "{error}"
        );
    }
}
