//! `queuelab host`: sample the host (and one process) and report bottlenecks.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytesize::ByteSize;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use queuelab_agent::{
    AgentError, AgentReport, Indicator, ProcessTarget, Sampler, Severity, Summary, Thresholds,
    Window,
};

use super::InputError;

/// Most samples kept: one day at one per second. A longer run keeps its most
/// recent samples and the report counts the dropped ones.
const MAX_WINDOW_SAMPLES: u64 = 86_400;

/// Arguments of `queuelab host`.
#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// Process ID to follow besides the host. Without it, only host figures are sampled.
    #[arg(long)]
    pid: Option<u32>,

    /// How long to sample, with a unit: 500ms, 60s, 2m.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,

    /// Time between samples, with a unit, at least 200ms.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,

    /// TOML file of indicator thresholds. Fields left out keep their defaults.
    #[arg(long, value_name = "FILE")]
    thresholds: Option<PathBuf>,

    /// Write the report as JSON (bytes, seconds, bytes per second) to standard output.
    #[arg(long)]
    json: bool,
}

/// Parses a duration with a unit, such as `500ms`, `60s` or `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|error| format!("invalid duration {text:?} ({error}): write a number and a unit, such as 500ms, 60s or 2m"))
}

/// Samples until the duration ends or Ctrl-C, then prints the report.
pub fn run(args: HostArgs) -> anyhow::Result<ExitCode> {
    let thresholds = load_thresholds(args.thresholds.as_deref())?;
    check_timing(&args)?;
    let target = args.pid.map_or(ProcessTarget::None, ProcessTarget::Pid);
    let mut sampler = Sampler::new(target).map_err(|error| match error {
        AgentError::ProcessNotFound { .. } => anyhow::Error::new(InputError(error.to_string())),
        other => anyhow::Error::new(other).context("failed to start the sampler"),
    })?;

    let interrupted = Arc::new(AtomicBool::new(false));
    ctrlc::set_handler({
        let interrupted = Arc::clone(&interrupted);
        move || interrupted.store(true, Ordering::Relaxed)
    })
    .context("failed to install the Ctrl-C handler")?;

    let planned = (args.duration.as_secs_f64() / args.interval.as_secs_f64()).floor() as u64;
    let window = sample_window(&mut sampler, args.interval, planned, &interrupted)?;
    let taken = window.len() as u64 + window.dropped();
    if taken < planned {
        eprintln!("sampling stopped early after {taken} of {planned} samples");
    }

    let Some(report) = AgentReport::from_samples(&window.samples(), &thresholds, window.dropped())
    else {
        anyhow::bail!(
            "no sample was taken before sampling stopped; sample for at least one interval"
        );
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", format_report(&report, args.interval));
    }
    Ok(ExitCode::SUCCESS)
}

fn load_thresholds(path: Option<&std::path::Path>) -> anyhow::Result<Thresholds> {
    let Some(path) = path else {
        return Ok(Thresholds::default());
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        InputError(format!(
            "failed to read thresholds file {}: {error}",
            path.display()
        ))
    })?;
    let thresholds: Thresholds = toml::from_str(&text).map_err(|error| {
        InputError(format!(
            "invalid thresholds file {}: {error}",
            path.display()
        ))
    })?;
    thresholds
        .validate()
        .map_err(|error| InputError(format!("{}: {error}", path.display())))?;
    Ok(thresholds)
}

fn check_timing(args: &HostArgs) -> Result<(), InputError> {
    if args.interval < Sampler::MINIMUM_INTERVAL {
        return Err(InputError(format!(
            "invalid --interval {:?}: CPU figures need at least {:?} between samples",
            args.interval,
            Sampler::MINIMUM_INTERVAL
        )));
    }
    if args.duration < args.interval {
        return Err(InputError(format!(
            "invalid --duration {:?}: it must be at least one --interval ({:?})",
            args.duration, args.interval
        )));
    }
    Ok(())
}

/// Takes up to `planned` samples, one per interval, with a progress bar on a
/// terminal. Stops early on Ctrl-C or when the followed process exits.
fn sample_window(
    sampler: &mut Sampler,
    interval: Duration,
    planned: u64,
    interrupted: &AtomicBool,
) -> anyhow::Result<Window> {
    let capacity = usize::try_from(planned.clamp(1, MAX_WINDOW_SAMPLES))?;
    let mut window = Window::new(capacity)?;
    let progress = progress_bar(planned);
    let mut next = Instant::now() + interval;

    for _ in 0..planned {
        if !sleep_until(next, interrupted) {
            break;
        }
        next += interval;

        match sampler.sample() {
            Ok(sample) => window.push(sample),
            Err(AgentError::ProcessNotFound { pid }) => {
                progress.suspend(|| eprintln!("process {pid} exited; stopping"));
                break;
            }
            Err(error) => return Err(error).context("failed to take a sample"),
        }
        progress.inc(1);
    }

    progress.finish_and_clear();
    Ok(window)
}

/// Sleeps until `deadline` in short steps, and returns `false` when Ctrl-C came first.
fn sleep_until(deadline: Instant, interrupted: &AtomicBool) -> bool {
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return false;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return true;
        }
        std::thread::sleep(remaining.min(Duration::from_millis(100)));
    }
}

fn progress_bar(planned: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "sampling {bar:40} {pos}/{len} samples, {elapsed} elapsed (Ctrl-C to stop and report)",
    )
    .expect("the template is valid");
    ProgressBar::with_draw_target(Some(planned), ProgressDrawTarget::stderr()).with_style(style)
}

/// Renders the report for a terminal.
fn format_report(report: &AgentReport, interval: Duration) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };

    line(format!(
        "{} samples over {:.1} s (interval {:?}), {} cores",
        summary.sample_count, summary.window_s, interval, summary.cores
    ));
    if report.dropped_samples > 0 {
        line(format!(
            "NOTE: {} early samples were pushed out of the window",
            report.dropped_samples
        ));
    }

    line(String::new());
    for text in cpu_lines(summary) {
        line(text);
    }
    line(String::new());
    for text in memory_lines(summary) {
        line(text);
    }
    line(String::new());
    for text in disk_lines(summary) {
        line(text);
    }
    line(String::new());
    for text in indicator_lines(&report.indicators) {
        line(text);
    }
    line(String::new());
    line(format!(
        "Sampler cost: {:.3} ms of CPU per sample",
        summary.sampler_cpu_s_per_sample * 1000.0
    ));
    out
}

fn cpu_lines(summary: &Summary) -> Vec<String> {
    let cpu = &summary.host_cpu_percent;
    let per_core: Vec<String> = summary
        .per_core_avg_percent
        .iter()
        .map(|percent| format!("{percent:.1}"))
        .collect();
    let mut lines = vec![
        "CPU".to_owned(),
        format!(
            "  host        avg {:.1} %   p95 {:.1} %   p99 {:.1} %   max {:.1} %",
            cpu.avg, cpu.p95, cpu.p99, cpu.max
        ),
        format!(
            "  per core    avg {} %   (variance {:.1} %²)",
            per_core.join(" / "),
            summary.per_core_variance
        ),
        format!(
            "  load avg    1m {:.2} on {} cores ({:.2} per core)   5m {:.2}   15m {:.2}",
            summary.load_average_1m,
            summary.cores,
            summary.load_average_1m / summary.cores.max(1) as f64,
            summary.load_average_5m,
            summary.load_average_15m
        ),
        format!(
            "  kernel      {:.0} context switches/s   {:.0} interrupts/s",
            summary.context_switches_per_s, summary.interrupts_per_s
        ),
    ];
    if let Some(process) = &summary.process {
        let cpu = &process.cpu_percent;
        lines.push(format!(
            "  pid {:<7} avg {:.1} %   p95 {:.1} %   p99 {:.1} %   max {:.1} % (of one core), {} threads",
            process.pid, cpu.avg, cpu.p95, cpu.p99, cpu.max, process.threads
        ));
    }
    lines
}

fn memory_lines(summary: &Summary) -> Vec<String> {
    let mut lines = vec![
        "Memory".to_owned(),
        format!(
            "  host        {} total, {:.1} % in use (window mean)",
            ByteSize(summary.host_memory_total_bytes),
            summary.host_memory_used_ratio * 100.0
        ),
    ];
    if let Some(process) = &summary.process {
        lines.push(format!(
            "  pid {:<7} RSS avg {}, max {} ({:.2} % of host), last {}, virtual {}",
            process.pid,
            ByteSize(process.rss_bytes.avg as u64),
            ByteSize(process.rss_bytes.max as u64),
            process.rss_share_of_host * 100.0,
            ByteSize(process.rss_last_bytes),
            ByteSize(process.virtual_last_bytes)
        ));
        lines.push(format!(
            "              RSS growth {:+.1} KiB/s (least-squares fit)   page faults {:.1} major/s, {:.0} minor/s",
            process.rss_growth_bytes_per_s / 1024.0,
            process.major_faults_per_s,
            process.minor_faults_per_s
        ));
        lines.push(format!(
            "              storage I/O {:.2} MB/s read, {:.2} MB/s written",
            process.disk_read_bytes_per_s / 1e6,
            process.disk_write_bytes_per_s / 1e6
        ));
    }
    lines
}

fn disk_lines(summary: &Summary) -> Vec<String> {
    let mut lines = vec![
        "Disk I/O (MB = 10⁶ bytes; latency = time spent / operations, from /proc/diskstats)"
            .to_owned(),
        format!(
            "  {:<10} {:>10} {:>11} {:>9} {:>10} {:>12} {:>6}",
            "device", "read MB/s", "write MB/s", "read IOPS", "write IOPS", "latency/op", "busy"
        ),
    ];
    for disk in &summary.disks {
        let latency = disk.latency_s.map_or_else(
            || "-".to_owned(),
            |seconds| format!("{:.2} ms", seconds * 1000.0),
        );
        lines.push(format!(
            "  {:<10} {:>10.2} {:>11.2} {:>9.1} {:>10.1} {:>12} {:>5.0}%",
            disk.device,
            disk.read_bytes_per_s / 1e6,
            disk.write_bytes_per_s / 1e6,
            disk.read_iops,
            disk.write_iops,
            latency,
            disk.busy_ratio * 100.0
        ));
    }

    lines.push(String::new());
    lines.push("Disk usage".to_owned());
    for mount in &summary.mounts {
        lines.push(format!(
            "  {:<24} {:<8} {:>11} total {:>11} available {:>5.1} % used",
            mount.mount_point,
            mount.file_system,
            ByteSize(mount.total_bytes).to_string(),
            ByteSize(mount.available_bytes).to_string(),
            mount.used_ratio * 100.0
        ));
    }
    lines
}

fn indicator_lines(indicators: &[Indicator]) -> Vec<String> {
    let mut lines = vec!["Indicators".to_owned()];
    if indicators.is_empty() {
        lines.push("  none fired".to_owned());
    }
    for indicator in indicators {
        let severity = match indicator.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING ",
            Severity::Info => "INFO    ",
        };
        lines.push(format!(
            "  {severity} {}: {}",
            indicator.name, indicator.message
        ));
        lines.push(format!(
            "           what to do: {}",
            indicator.recommendation
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn duration_without_unit_is_rejected() {
        let error = parse_duration("60").unwrap_err();

        assert!(error.contains("500ms, 60s or 2m"), "{error}");
    }
}
