//! One sample: what the sampler reads at one instant.
//!
//! Counters (`*_total`) are cumulative since boot or process start, as the
//! kernel reports them. Rates come from differences across a window in
//! [`summary`](crate::summary). Gauges (CPU %, memory, load average) are the
//! values at the sampling instant.

use serde::{Deserialize, Serialize};

/// Everything read at one sampling instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the sampler started, from a monotonic clock.
    pub elapsed_s: f64,
    /// The sampled process, when the sampler follows one.
    pub process: Option<ProcessSample>,
    /// Host-wide CPU, memory and kernel counters.
    pub host: HostSample,
    /// Cumulative counters of each whole block device, from `/proc/diskstats`.
    pub disks: Vec<DiskCounters>,
    /// Space used on each mounted file system.
    pub mounts: Vec<MountUsage>,
    /// CPU time (user + system) that the sampling thread spent taking this sample, in seconds.
    pub sampler_cpu_s: f64,
}

/// Figures of one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Process ID.
    pub pid: u32,
    /// CPU usage since the previous sample, in percent of one core (200 = two busy cores).
    pub cpu_percent: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
    /// Virtual memory size in bytes.
    pub virtual_bytes: u64,
    /// Bytes the process caused to be read from storage since it started.
    pub disk_read_bytes_total: u64,
    /// Bytes the process caused to be written to storage since it started.
    pub disk_written_bytes_total: u64,
    /// Minor page faults (no disk access) since the process started.
    pub minor_faults_total: u64,
    /// Major page faults (a page read from disk) since the process started.
    pub major_faults_total: u64,
    /// Number of threads.
    pub threads: u64,
}

/// Host-wide figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// CPU usage of all cores together since the previous sample, 0 to 100 %.
    pub cpu_percent: f64,
    /// CPU usage of each logical core since the previous sample, 0 to 100 % each.
    pub per_core_cpu_percent: Vec<f64>,
    /// 1-minute load average (runnable plus uninterruptible tasks).
    pub load_average_1m: f64,
    /// 5-minute load average.
    pub load_average_5m: f64,
    /// 15-minute load average.
    pub load_average_15m: f64,
    /// Physical memory in bytes.
    pub memory_total_bytes: u64,
    /// Memory in use in bytes (total minus available).
    pub memory_used_bytes: u64,
    /// Context switches since boot, from `/proc/stat`.
    pub context_switches_total: u64,
    /// Interrupts serviced since boot, from `/proc/stat`.
    pub interrupts_total: u64,
}

/// Cumulative I/O counters of one block device, as in `/proc/diskstats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskCounters {
    /// Kernel device name, such as `vda` or `nvme0n1`.
    pub device: String,
    /// Reads completed.
    pub reads_completed: u64,
    /// 512-byte sectors read (the kernel counts 512-byte units whatever the device's sector size).
    pub sectors_read: u64,
    /// Milliseconds spent on all reads, summed over reads in flight at once.
    pub read_time_ms: u64,
    /// Writes completed.
    pub writes_completed: u64,
    /// 512-byte sectors written.
    pub sectors_written: u64,
    /// Milliseconds spent on all writes, summed over writes in flight at once.
    pub write_time_ms: u64,
    /// Milliseconds during which the device had at least one I/O in flight.
    pub io_time_ms: u64,
}

/// Space on one mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountUsage {
    /// Mount point, such as `/` or `/var/lib/data`.
    pub mount_point: String,
    /// File system type, such as `ext4`.
    pub file_system: String,
    /// Size of the file system in bytes.
    pub total_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
}
