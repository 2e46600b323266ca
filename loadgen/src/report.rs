//! The results of a run: a serde summary, warnings in plain words, and the
//! files they are written to.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde::Serialize;

use crate::error::OutputError;
use crate::window::{WindowReport, overload_errors};

/// File name of the JSON summary inside the output directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// File name of the end-to-end latency interval log.
pub const LATENCY_LOG_FILE: &str = "latency.hlog";
/// File name of the send-lateness interval log.
pub const SEND_LATENESS_LOG_FILE: &str = "send-lateness.hlog";

/// Everything a run measured, with the settings needed to read it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// URL of the target.
    pub target: String,
    /// gRPC method the requests called, such as
    /// `queuelab.v1.Storefront/HandleRequest`.
    pub method: String,
    /// Seed of the arrival schedules.
    pub seed: u64,
    /// Cap on requests in flight.
    pub max_in_flight: usize,
    /// Per-request timeout, in seconds.
    pub timeout_s: f64,
    /// Length of the warm-up before the first window, in seconds.
    pub warmup_s: f64,
    /// Wall-clock start of the run, in seconds since the Unix epoch.
    pub started_at_unix_s: f64,
    /// Time from the first scheduled send to an early stop (Ctrl-C), in
    /// seconds; `None` when the run ended as planned.
    pub stopped_after_s: Option<f64>,
    /// Send-lateness p99 above which a window reports that the generator
    /// fell behind, in seconds.
    pub max_send_lateness_p99_s: f64,
    /// One entry per measured window, in run order.
    pub windows: Vec<WindowReport>,
    /// Plain-language warnings: a generator or a target that did not keep up.
    pub warnings: Vec<String>,
}

/// Describes, for each window, a generator that fell behind its schedule or
/// a target that did not keep up, in plain sentences.
pub fn warnings_for(
    windows: &[WindowReport],
    max_in_flight: usize,
    timeout: Duration,
    max_send_lateness_p99: Duration,
) -> Vec<String> {
    let mut warnings = Vec::new();

    for (index, window) in windows.iter().enumerate() {
        let summary = &window.summary;
        let label = format!("window {} ({}/s)", index + 1, summary.target_rate_per_s);

        if !summary.generator_kept_up {
            warnings.push(format!(
                "{label}: the generator could not keep up with its schedule: \
                 send-lateness p99 is {} (limit {}). Latency still counts from the \
                 scheduled times, but the arrivals were burstier than Poisson; \
                 lower the rate or run the generator on a less busy machine",
                format_seconds(summary.send_lateness_p99_s),
                format_seconds(Some(max_send_lateness_p99.as_secs_f64())),
            ));
        }
        if summary.dropped_by_cap > 0 {
            warnings.push(format!(
                "{label}: the target did not keep up: {} requests were not sent \
                 because {max_in_flight} were already in flight",
                summary.dropped_by_cap
            ));
        }
        if summary.errors > 0 {
            let by_status: Vec<String> = summary
                .errors_by_status
                .iter()
                .map(|(status, count)| format!("{count} {status}"))
                .collect();
            let overloaded = if overload_errors(&summary.errors_by_status) > 0 {
                "the target did not keep up: "
            } else {
                ""
            };
            warnings.push(format!(
                "{label}: {overloaded}{} replies were errors ({})",
                summary.errors,
                by_status.join(", ")
            ));
        }
        if summary.timeouts > 0 {
            warnings.push(format!(
                "{label}: the target did not keep up: {} requests had no reply \
                 within the {timeout:?} timeout",
                summary.timeouts
            ));
        }
    }

    warnings
}

/// Creates the output directory when missing.
///
/// # Errors
/// [`OutputError::Io`] naming the directory.
pub fn prepare_output_dir(dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// Writes the JSON summary and the two interval logs into `dir`, creating it
/// when missing, and returns the paths written.
///
/// # Errors
/// [`OutputError`] naming the file that could not be written.
pub fn write_results(dir: &Path, report: &RunReport) -> Result<Vec<PathBuf>, OutputError> {
    prepare_output_dir(dir)?;

    let summary_path = dir.join(SUMMARY_FILE);
    let json = serde_json::to_string_pretty(report).expect("the report serializes to JSON");
    fs::write(&summary_path, json + "\n").map_err(|source| OutputError::Io {
        path: summary_path.clone(),
        source,
    })?;

    let latency_path = dir.join(LATENCY_LOG_FILE);
    write_interval_log(&latency_path, report, |window| &window.latency_ns)?;
    let lateness_path = dir.join(SEND_LATENESS_LOG_FILE);
    write_interval_log(&lateness_path, report, |window| &window.send_lateness_ns)?;

    Ok(vec![summary_path, latency_path, lateness_path])
}

/// Writes one histogram per window into an HdrHistogram interval log (V2
/// compressed histograms, values in nanoseconds), tagged `rate-<λ>`.
fn write_interval_log(
    path: &Path,
    report: &RunReport,
    histogram_of: impl Fn(&WindowReport) -> &Histogram<u64>,
) -> Result<(), OutputError> {
    let io_error = |source| OutputError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::create(path).map_err(io_error)?;
    let mut output = BufWriter::new(file);
    let mut serializer = V2DeflateSerializer::new();
    let started_at = UNIX_EPOCH + Duration::from_secs_f64(report.started_at_unix_s);

    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("queuelab loadgen: one histogram per measured window, values in ns")
        .with_start_time(started_at)
        .with_base_time(started_at)
        .with_max_value_divisor(1e9)
        .begin_log_with(&mut output, &mut serializer)
        .map_err(io_error)?;

    for window in &report.windows {
        let summary = &window.summary;
        let tag_text = format!("rate-{}", summary.target_rate_per_s);
        log.write_histogram(
            histogram_of(window),
            Duration::from_secs_f64(summary.start_offset_s),
            Duration::from_secs_f64(summary.duration_s),
            Tag::new(&tag_text),
        )
        .map_err(|error| OutputError::Histogram {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
    }

    drop(log);
    output.flush().map_err(io_error)
}

/// Renders the report as a table for a terminal.
pub fn render_text(report: &RunReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} at {}, seed {}, cap {} in flight, timeout {} s",
        report.method, report.target, report.seed, report.max_in_flight, report.timeout_s
    );
    let _ = writeln!(
        text,
        "{:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "rate/s",
        "achieved",
        "sent",
        "ok",
        "errors",
        "dropped",
        "mean",
        "p50",
        "p99",
        "p99.9",
        "max",
        "late p99"
    );
    for window in &report.windows {
        let summary = &window.summary;
        let latency = &summary.latency;
        let _ = writeln!(
            text,
            "{:>9.1} {:>9.1} {:>8} {:>8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            summary.target_rate_per_s,
            summary.achieved_rate_per_s,
            summary.sent,
            summary.ok,
            summary.errors + summary.timeouts,
            summary.dropped_by_cap,
            format_seconds(latency.mean_s),
            format_seconds(latency.p50_s),
            format_seconds(latency.p99_s),
            format_seconds(latency.p99_9_s),
            format_seconds(latency.max_s),
            format_seconds(summary.send_lateness_p99_s),
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    text
}

/// Formats seconds with a unit that keeps 3 significant digits readable:
/// µs, ms or s; `-` when there is no value.
pub fn format_seconds(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s < 1e-3 => format!("{:.1}µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.2}ms", s * 1e3),
        Some(s) => format!("{s:.3}s"),
    }
}

/// Returns seconds since the Unix epoch, or 0 for a time before it.
pub fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_seconds_units() {
        assert_eq!(format_seconds(None), "-");
        assert_eq!(format_seconds(Some(0.000_042)), "42.0µs");
        assert_eq!(format_seconds(Some(0.0021)), "2.10ms");
        assert_eq!(format_seconds(Some(1.5)), "1.500s");
    }
}
