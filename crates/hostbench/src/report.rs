//! Results of a benchmark run.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Way the read phases got past the page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheBypass {
    /// The file was opened with `O_DIRECT`.
    DirectIo,
    /// `/proc/sys/vm/drop_caches` was written after `fsync`.
    DroppedPageCache,
    /// `posix_fadvise(DONTNEED)` evicted the file's pages after `fsync`.
    FadviseDontNeed,
    /// Nothing: the reads may come from memory.
    None,
}

impl CacheBypass {
    /// Describes the way in one line for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DirectIo => "O_DIRECT (reads and random writes bypass the page cache)",
            Self::DroppedPageCache => "page cache dropped after fsync (/proc/sys/vm/drop_caches)",
            Self::FadviseDontNeed => {
                "file's cached pages evicted after fsync (posix_fadvise DONTNEED)"
            }
            Self::None => "none: reads may come from the page cache and overstate the device",
        }
    }
}

/// Figures of one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseResult {
    /// Phase name: `sequential_write`, `sequential_read`, `random_read` or `random_write`.
    pub name: String,
    /// Operations (system calls) completed.
    pub operations: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Wall time of the phase, including the final `fsync` of write phases, in seconds.
    pub elapsed_s: f64,
    /// `bytes / elapsed_s`.
    pub bytes_per_s: f64,
    /// `operations / elapsed_s`.
    pub iops: f64,
    /// Mean latency of one operation, in seconds (excluding the final `fsync`).
    pub latency_mean_s: f64,
    /// Median latency of one operation, in seconds.
    pub latency_p50_s: f64,
    /// 99th-percentile latency of one operation, in seconds.
    pub latency_p99_s: f64,
    /// Maximum latency of one operation, in seconds.
    pub latency_max_s: f64,
}

impl PhaseResult {
    /// Builds the figures from per-operation latencies in nanoseconds.
    pub fn new(name: &str, bytes: u64, elapsed_s: f64, latencies_ns: &Histogram<u64>) -> Self {
        let operations = latencies_ns.len();
        let per_second = |amount: u64| {
            if elapsed_s > 0.0 {
                amount as f64 / elapsed_s
            } else {
                0.0
            }
        };
        let seconds = |nanoseconds: u64| nanoseconds as f64 * 1e-9;

        Self {
            name: name.to_owned(),
            operations,
            bytes,
            elapsed_s,
            bytes_per_s: per_second(bytes),
            iops: per_second(operations),
            latency_mean_s: latencies_ns.mean() * 1e-9,
            latency_p50_s: seconds(latencies_ns.value_at_quantile(0.50)),
            latency_p99_s: seconds(latencies_ns.value_at_quantile(0.99)),
            latency_max_s: seconds(latencies_ns.max()),
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Directory the test file was in.
    pub dir: String,
    /// Size of the test file in bytes.
    pub size_bytes: u64,
    /// Block size of the sequential phases in bytes.
    pub block_bytes: u64,
    /// Size of each random operation in bytes.
    pub random_block_bytes: u64,
    /// Way the reads avoided the page cache.
    pub cache_bypass: CacheBypass,
    /// Whether the directory is on tmpfs or ramfs, so every phase measured memory.
    pub memory_backed: bool,
    /// Buffered writes of the whole file in blocks, then one `fsync`.
    pub sequential_write: PhaseResult,
    /// Reads of the whole file in blocks.
    pub sequential_read: PhaseResult,
    /// 4 KiB reads at random 4 KiB-aligned offsets.
    pub random_read: PhaseResult,
    /// 4 KiB writes at random 4 KiB-aligned offsets, then one `fsync`.
    pub random_write: PhaseResult,
}
