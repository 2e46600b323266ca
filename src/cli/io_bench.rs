//! `queuelab io-bench`: file-system throughput, IOPS and latency percentiles.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use bytesize::ByteSize;
use queuelab_hostbench::{BenchConfig, BenchError, BenchReport, CacheMode, PhaseResult};

use super::InputError;

/// Exit status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2).
const INTERRUPTED_EXIT: u8 = 130;

/// Arguments of `queuelab io-bench`.
#[derive(Debug, clap::Args)]
pub struct IoBenchArgs {
    /// Directory for the test file (created and removed by the benchmark).
    #[arg(long, default_value = ".")]
    dir: PathBuf,

    /// Size of the test file, with a unit: 256MiB, 1GiB, 100MB.
    #[arg(long, default_value = "256MiB", value_parser = parse_bytes)]
    size: u64,

    /// Block size of the sequential phases, a multiple of 4KiB.
    #[arg(long, default_value = "64KiB", value_parser = parse_bytes)]
    block: u64,

    /// Number of random 4 KiB reads, and of random 4 KiB writes.
    #[arg(long, value_name = "N", default_value_t = BenchConfig::DEFAULT_RANDOM_OPS)]
    ops: u64,

    /// Way for the reads to get past the page cache.
    #[arg(long, value_enum, default_value = "auto")]
    cache: CacheArg,

    /// Seed of the random offsets and data.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Write the report as JSON (bytes, seconds, bytes per second) to standard output.
    #[arg(long)]
    json: bool,
}

/// The `--cache` choices.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CacheArg {
    /// O_DIRECT where supported, else drop the page cache (root), else posix_fadvise.
    Auto,
    /// Open the file with O_DIRECT.
    Direct,
    /// Write 1 to /proc/sys/vm/drop_caches (root only, affects the whole host).
    DropCaches,
    /// Evict the file's pages with posix_fadvise(DONTNEED).
    Fadvise,
    /// Read through the page cache (measures memory, not the device).
    None,
}

impl From<CacheArg> for CacheMode {
    fn from(arg: CacheArg) -> Self {
        match arg {
            CacheArg::Auto => CacheMode::Auto,
            CacheArg::Direct => CacheMode::Direct,
            CacheArg::DropCaches => CacheMode::DropCaches,
            CacheArg::Fadvise => CacheMode::Fadvise,
            CacheArg::None => CacheMode::None,
        }
    }
}

/// Parses a byte size with a unit: `256MiB` (binary), `100MB` (decimal) or plain bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| {
            format!("invalid size {text:?}: write bytes with a unit, such as 64KiB, 256MiB or 1GB")
        })
}

/// Runs the benchmark and prints its figures.
pub fn run(args: IoBenchArgs) -> anyhow::Result<ExitCode> {
    let config = BenchConfig {
        dir: args.dir.clone(),
        size_bytes: args.size,
        block_bytes: args.block,
        random_ops: args.ops,
        cache_mode: args.cache.into(),
        seed: args.seed,
    };

    config
        .validate()
        .map_err(|error| InputError(error.to_string()))?;

    let interrupted = Arc::new(AtomicBool::new(false));
    ctrlc::set_handler({
        let interrupted = Arc::clone(&interrupted);
        move || interrupted.store(true, Ordering::Relaxed)
    })
    .context("failed to install the Ctrl-C handler")?;

    if !args.json {
        eprintln!(
            "io-bench: {} file in {}, {} blocks, {} random 4 KiB operations each way",
            ByteSize(config.size_bytes),
            config.dir.display(),
            ByteSize(config.block_bytes),
            config.random_ops
        );
    }

    let report = match queuelab_hostbench::run(&config, &interrupted) {
        Ok(report) => report,
        Err(BenchError::Interrupted) => {
            eprintln!("interrupted: the test file was removed");
            return Ok(ExitCode::from(INTERRUPTED_EXIT));
        }
        Err(
            error @ (BenchError::InvalidConfig { .. }
            | BenchError::DirectoryNotFound { .. }
            | BenchError::InsufficientSpace { .. }),
        ) => return Err(InputError(error.to_string()).into()),
        Err(error) => return Err(error).context("io-bench failed"),
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", format_report(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn format_report(report: &BenchReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("page cache: {}\n", report.cache_bypass.describe()));
    if report.memory_backed {
        out.push_str(
            "NOTE: the directory is on tmpfs or ramfs, so every figure measures memory.\n",
        );
    }
    out.push_str(&format!(
        "{:<17} {:>10} {:>10} {:>11} {:>11} {:>11} {:>9}\n",
        "phase", "MB/s", "IOPS", "mean", "p50", "p99", "time"
    ));
    for phase in [
        &report.sequential_write,
        &report.sequential_read,
        &report.random_read,
        &report.random_write,
    ] {
        out.push_str(&phase_line(phase));
    }
    out.push_str(
        "MB = 10⁶ bytes. Latency is per system call; write phases include a final fsync \
         in their time and MB/s but not in the latency.\n",
    );
    out
}

fn phase_line(phase: &PhaseResult) -> String {
    format!(
        "{:<17} {:>10.1} {:>10.0} {:>11} {:>11} {:>11} {:>8.2}s\n",
        phase.name,
        phase.bytes_per_s / 1e6,
        phase.iops,
        format_latency(phase.latency_mean_s),
        format_latency(phase.latency_p50_s),
        format_latency(phase.latency_p99_s),
        phase.elapsed_s
    )
}

fn format_latency(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}
