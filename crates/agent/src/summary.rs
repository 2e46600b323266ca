//! Figures derived from the samples of one window: distributions, rates and
//! the disk latency per operation.

use serde::{Deserialize, Serialize};

use crate::sample::{DiskCounters, Sample};
use crate::statistics::{Distribution, least_squares_slope, mean, population_variance};

/// Bytes in one sector of `/proc/diskstats`, whatever the device's own sector size.
pub const DISKSTATS_SECTOR_BYTES: u64 = 512;

/// Everything derived from one window of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Samples in the window.
    pub sample_count: usize,
    /// Seconds from the first to the last sample. Rates are per second of this span.
    pub window_s: f64,
    /// Logical cores of the host.
    pub cores: usize,
    /// Host CPU usage over all cores, in percent (0 to 100).
    pub host_cpu_percent: Distribution,
    /// Mean usage of each core over the window, in percent.
    pub per_core_avg_percent: Vec<f64>,
    /// Population variance of the per-core means, in percent².
    pub per_core_variance: f64,
    /// Mean of the 1-minute load average over the window.
    pub load_average_1m: f64,
    /// 5-minute load average at the last sample.
    pub load_average_5m: f64,
    /// 15-minute load average at the last sample.
    pub load_average_15m: f64,
    /// Context switches per second.
    pub context_switches_per_s: f64,
    /// Interrupts per second.
    pub interrupts_per_s: f64,
    /// Physical memory of the host in bytes.
    pub host_memory_total_bytes: u64,
    /// Mean share of host memory in use, 0 to 1.
    pub host_memory_used_ratio: f64,
    /// The followed process, when there is one.
    pub process: Option<ProcessSummary>,
    /// Each block device.
    pub disks: Vec<DiskSummary>,
    /// Each mounted file system at the last sample.
    pub mounts: Vec<MountSummary>,
    /// Mean CPU time the sampler spent per sample, in seconds.
    pub sampler_cpu_s_per_sample: f64,
}

/// Figures of the followed process over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSummary {
    /// Process ID.
    pub pid: u32,
    /// CPU usage in percent of one core (200 = two busy cores).
    pub cpu_percent: Distribution,
    /// Resident set size in bytes.
    pub rss_bytes: Distribution,
    /// Resident set size at the last sample, in bytes.
    pub rss_last_bytes: u64,
    /// Virtual size at the last sample, in bytes.
    pub virtual_last_bytes: u64,
    /// RSS growth rate from a least-squares fit over the window, in bytes per second.
    pub rss_growth_bytes_per_s: f64,
    /// Maximum RSS as a share of host memory, 0 to 1.
    pub rss_share_of_host: f64,
    /// Minor page faults per second.
    pub minor_faults_per_s: f64,
    /// Major page faults (pages read from disk) per second.
    pub major_faults_per_s: f64,
    /// Bytes read from storage per second on behalf of the process.
    pub disk_read_bytes_per_s: f64,
    /// Bytes written to storage per second on behalf of the process.
    pub disk_write_bytes_per_s: f64,
    /// Threads at the last sample.
    pub threads: u64,
}

/// I/O of one block device over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSummary {
    /// Kernel device name.
    pub device: String,
    /// Bytes read per second.
    pub read_bytes_per_s: f64,
    /// Bytes written per second.
    pub write_bytes_per_s: f64,
    /// Reads completed per second.
    pub read_iops: f64,
    /// Writes completed per second.
    pub write_iops: f64,
    /// Mean time per completed read, in seconds, or `None` without reads.
    pub read_latency_s: Option<f64>,
    /// Mean time per completed write, in seconds, or `None` without writes.
    pub write_latency_s: Option<f64>,
    /// Mean time per completed operation of either kind, in seconds, or `None` without I/O.
    pub latency_s: Option<f64>,
    /// Share of the window with at least one I/O in flight, 0 to 1.
    pub busy_ratio: f64,
}

/// Space on one file system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountSummary {
    /// Mount point.
    pub mount_point: String,
    /// File system type.
    pub file_system: String,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Share in use, `(total − available) / total`, 0 to 1.
    pub used_ratio: f64,
}

/// Derives the window's figures, or returns `None` for an empty window.
///
/// Rates divide the change of a counter between the first and the last
/// sample by the seconds between them, so a window of one sample has rates
/// of zero. A counter that went backwards (device replaced, process
/// restarted) counts as no change.
pub fn summarize(samples: &[Sample]) -> Option<Summary> {
    let first = samples.first()?;
    let last = samples.last()?;
    let window_s = last.elapsed_s - first.elapsed_s;
    let rate = |before: u64, after: u64| per_second(after.saturating_sub(before), window_s);

    let host_cpu: Vec<f64> = samples.iter().map(|s| s.host.cpu_percent).collect();
    let per_core_avg_percent = per_core_averages(samples);
    let loads: Vec<f64> = samples.iter().map(|s| s.host.load_average_1m).collect();
    let used_ratios: Vec<f64> = samples
        .iter()
        .map(|s| ratio(s.host.memory_used_bytes, s.host.memory_total_bytes))
        .collect();
    let sampler_cpu: Vec<f64> = samples.iter().map(|s| s.sampler_cpu_s).collect();

    Some(Summary {
        sample_count: samples.len(),
        window_s,
        cores: last.host.per_core_cpu_percent.len(),
        host_cpu_percent: Distribution::of(&host_cpu)?,
        per_core_variance: population_variance(&per_core_avg_percent).unwrap_or(0.0),
        per_core_avg_percent,
        load_average_1m: mean(&loads)?,
        load_average_5m: last.host.load_average_5m,
        load_average_15m: last.host.load_average_15m,
        context_switches_per_s: rate(
            first.host.context_switches_total,
            last.host.context_switches_total,
        ),
        interrupts_per_s: rate(first.host.interrupts_total, last.host.interrupts_total),
        host_memory_total_bytes: last.host.memory_total_bytes,
        host_memory_used_ratio: mean(&used_ratios)?,
        process: summarize_process(samples, window_s),
        disks: last
            .disks
            .iter()
            .filter_map(|after| {
                let before = first.disks.iter().find(|d| d.device == after.device)?;
                Some(summarize_disk(before, after, window_s))
            })
            .collect(),
        mounts: last
            .mounts
            .iter()
            .map(|mount| MountSummary {
                mount_point: mount.mount_point.clone(),
                file_system: mount.file_system.clone(),
                total_bytes: mount.total_bytes,
                available_bytes: mount.available_bytes,
                used_ratio: ratio(
                    mount.total_bytes.saturating_sub(mount.available_bytes),
                    mount.total_bytes,
                ),
            })
            .collect(),
        sampler_cpu_s_per_sample: mean(&sampler_cpu)?,
    })
}

/// Derives one device's rates and mean latency from two readings `window_s` apart.
///
/// The kernel's time counters are in milliseconds, so the mean latency is
/// Δtime_ms / Δoperations milliseconds, divided by 1000 once to give seconds.
pub fn summarize_disk(before: &DiskCounters, after: &DiskCounters, window_s: f64) -> DiskSummary {
    let reads = after.reads_completed.saturating_sub(before.reads_completed);
    let writes = after
        .writes_completed
        .saturating_sub(before.writes_completed);
    let read_ms = after.read_time_ms.saturating_sub(before.read_time_ms);
    let write_ms = after.write_time_ms.saturating_sub(before.write_time_ms);
    let sectors_read = after.sectors_read.saturating_sub(before.sectors_read);
    let sectors_written = after.sectors_written.saturating_sub(before.sectors_written);
    let busy_ms = after.io_time_ms.saturating_sub(before.io_time_ms);

    DiskSummary {
        device: after.device.clone(),
        read_bytes_per_s: per_second(sectors_read * DISKSTATS_SECTOR_BYTES, window_s),
        write_bytes_per_s: per_second(sectors_written * DISKSTATS_SECTOR_BYTES, window_s),
        read_iops: per_second(reads, window_s),
        write_iops: per_second(writes, window_s),
        read_latency_s: mean_latency_s(read_ms, reads),
        write_latency_s: mean_latency_s(write_ms, writes),
        latency_s: mean_latency_s(read_ms + write_ms, reads + writes),
        busy_ratio: if window_s > 0.0 {
            (busy_ms as f64 / 1000.0 / window_s).min(1.0)
        } else {
            0.0
        },
    }
}

fn summarize_process(samples: &[Sample], window_s: f64) -> Option<ProcessSummary> {
    let processes: Vec<(f64, &crate::sample::ProcessSample)> = samples
        .iter()
        .filter_map(|s| s.process.as_ref().map(|p| (s.elapsed_s, p)))
        .collect();
    let (_, first) = processes.first()?;
    let (_, last) = processes.last()?;
    let rate = |before: u64, after: u64| per_second(after.saturating_sub(before), window_s);

    let cpu: Vec<f64> = processes.iter().map(|(_, p)| p.cpu_percent).collect();
    let rss: Vec<f64> = processes.iter().map(|(_, p)| p.rss_bytes as f64).collect();
    let rss_points: Vec<(f64, f64)> = processes
        .iter()
        .map(|(t, p)| (*t, p.rss_bytes as f64))
        .collect();
    let rss_bytes = Distribution::of(&rss)?;
    let host_memory = samples.last()?.host.memory_total_bytes;

    Some(ProcessSummary {
        pid: last.pid,
        cpu_percent: Distribution::of(&cpu)?,
        rss_bytes,
        rss_last_bytes: last.rss_bytes,
        virtual_last_bytes: last.virtual_bytes,
        rss_growth_bytes_per_s: least_squares_slope(&rss_points).unwrap_or(0.0),
        rss_share_of_host: if host_memory == 0 {
            0.0
        } else {
            rss_bytes.max / host_memory as f64
        },
        minor_faults_per_s: rate(first.minor_faults_total, last.minor_faults_total),
        major_faults_per_s: rate(first.major_faults_total, last.major_faults_total),
        disk_read_bytes_per_s: rate(first.disk_read_bytes_total, last.disk_read_bytes_total),
        disk_write_bytes_per_s: rate(
            first.disk_written_bytes_total,
            last.disk_written_bytes_total,
        ),
        threads: last.threads,
    })
}

/// Mean usage of each core over the window. Cores missing from some samples
/// are averaged over the samples that have them.
fn per_core_averages(samples: &[Sample]) -> Vec<f64> {
    let cores = samples
        .iter()
        .map(|s| s.host.per_core_cpu_percent.len())
        .max()
        .unwrap_or(0);

    (0..cores)
        .map(|core| {
            let values: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.host.per_core_cpu_percent.get(core).copied())
                .collect();
            mean(&values).unwrap_or(0.0)
        })
        .collect()
}

fn mean_latency_s(time_ms: u64, operations: u64) -> Option<f64> {
    if operations == 0 {
        return None;
    }
    Some(time_ms as f64 / operations as f64 / 1000.0)
}

fn per_second(change: u64, window_s: f64) -> f64 {
    if window_s > 0.0 {
        change as f64 / window_s
    } else {
        0.0
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
