//! Bottleneck indicators: a pure function of a [`Summary`] and [`Thresholds`].

use serde::{Deserialize, Serialize};

use crate::summary::{DiskSummary, MountSummary, ProcessSummary, Summary};
use crate::thresholds::{MIB, Thresholds};

/// Urgency of an indicator, ordered `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, with no action needed yet.
    Info,
    /// Degraded or heading for trouble.
    Warning,
    /// Saturated or about to fail.
    Critical,
}

/// One fired indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Stable identifier, such as `cpu_p95` or `disk_latency`.
    pub name: String,
    /// The device or mount point it concerns, for per-device indicators.
    pub subject: Option<String>,
    /// Urgency.
    pub severity: Severity,
    /// The measured value, in `unit`.
    pub value: f64,
    /// The limit that `value` exceeded, in `unit`.
    pub threshold: f64,
    /// Unit of `value` and `threshold`: `percent`, `ratio`, `bytes_per_s`, `per_s`, `s` or `load_per_core`.
    pub unit: String,
    /// One line saying what was measured.
    pub message: String,
    /// Suggested action.
    pub recommendation: String,
}

/// Evaluates every indicator and returns those that fired, most severe first.
pub fn evaluate(summary: &Summary, thresholds: &Thresholds) -> Vec<Indicator> {
    let mut fired = Vec::new();

    fired.extend(cpu_p95(summary, thresholds));
    fired.extend(load_average(summary, thresholds));
    fired.extend(uneven_cores(summary, thresholds));
    if let Some(process) = &summary.process {
        fired.extend(rss_share(process, thresholds));
        fired.extend(rss_growth(process, thresholds));
        fired.extend(major_faults(process, thresholds));
    }
    for disk in &summary.disks {
        fired.extend(disk_latency(disk, thresholds));
        fired.extend(disk_iops(disk, thresholds));
        fired.extend(disk_read_throughput(disk, thresholds));
    }
    for mount in &summary.mounts {
        fired.extend(mount_usage(mount, thresholds));
    }

    // A stable sort keeps the order above within one severity.
    fired.sort_by_key(|indicator| std::cmp::Reverse(indicator.severity));
    fired
}

/// Picks the severity of a two-level indicator, or `None` when neither limit is exceeded.
fn two_level(value: f64, warning: f64, critical: f64) -> Option<(Severity, f64)> {
    if value > critical {
        Some((Severity::Critical, critical))
    } else if value > warning {
        Some((Severity::Warning, warning))
    } else {
        None
    }
}

fn cpu_p95(summary: &Summary, limits: &Thresholds) -> Option<Indicator> {
    let p95 = summary.host_cpu_percent.p95;
    let (severity, threshold) = two_level(
        p95,
        limits.cpu_p95_warning_percent,
        limits.cpu_p95_critical_percent,
    )?;
    Some(Indicator {
        name: "cpu_p95".into(),
        subject: None,
        severity,
        value: p95,
        threshold,
        unit: "percent".into(),
        message: format!("host CPU p95 is {p95:.1} % (limit {threshold:.0} %)"),
        recommendation: "profile the hottest threads, or add cores or instances; \
                         `queuelab recommend` ranks instance types for this load"
            .into(),
    })
}

fn load_average(summary: &Summary, limits: &Thresholds) -> Option<Indicator> {
    if summary.cores == 0 {
        return None;
    }
    let per_core = summary.load_average_1m / summary.cores as f64;
    if per_core <= limits.load_per_core_critical {
        return None;
    }
    Some(Indicator {
        name: "load_average".into(),
        subject: None,
        severity: Severity::Critical,
        value: per_core,
        threshold: limits.load_per_core_critical,
        unit: "load_per_core".into(),
        message: format!(
            "1-minute load average {:.2} on {} cores ({per_core:.2} per core): tasks wait for a CPU",
            summary.load_average_1m, summary.cores
        ),
        recommendation: "reduce runnable threads (size thread pools to the cores) or add cores; \
                         a high load with low CPU % points at tasks blocked on disk I/O"
            .into(),
    })
}

fn uneven_cores(summary: &Summary, limits: &Thresholds) -> Option<Indicator> {
    let variance = summary.per_core_variance;
    if variance <= limits.per_core_variance_warning {
        return None;
    }
    Some(Indicator {
        name: "uneven_cores".into(),
        subject: None,
        severity: Severity::Warning,
        value: variance,
        threshold: limits.per_core_variance_warning,
        unit: "percent_squared".into(),
        message: format!(
            "per-core CPU variance is {variance:.0} %² (standard deviation {:.1} points): \
             the load sits on few cores",
            variance.sqrt()
        ),
        recommendation: "look for a single-threaded hot path or a lock that serialises work; \
                         spread it over more threads or shards"
            .into(),
    })
}

fn rss_share(process: &ProcessSummary, limits: &Thresholds) -> Option<Indicator> {
    let share = process.rss_share_of_host;
    if share <= limits.rss_share_critical {
        return None;
    }
    Some(Indicator {
        name: "rss_share".into(),
        subject: Some(format!("pid {}", process.pid)),
        severity: Severity::Critical,
        value: share,
        threshold: limits.rss_share_critical,
        unit: "ratio".into(),
        message: format!(
            "process {} uses {:.1} % of host memory (max RSS {:.1} MiB)",
            process.pid,
            share * 100.0,
            process.rss_bytes.max / MIB
        ),
        recommendation: "cap caches and buffers, or move to a host with more memory; \
                         `queuelab recommend --rss` sizes the limit"
            .into(),
    })
}

fn rss_growth(process: &ProcessSummary, limits: &Thresholds) -> Option<Indicator> {
    let growth = process.rss_growth_bytes_per_s;
    if growth <= limits.rss_growth_critical_bytes_per_s {
        return None;
    }
    Some(Indicator {
        name: "rss_growth".into(),
        subject: Some(format!("pid {}", process.pid)),
        severity: Severity::Critical,
        value: growth,
        threshold: limits.rss_growth_critical_bytes_per_s,
        unit: "bytes_per_s".into(),
        message: format!(
            "process {} RSS grows by {:.2} MiB/s (least-squares fit): leak suspected",
            process.pid,
            growth / MIB
        ),
        recommendation: "take heap profiles a minute apart (heaptrack, jemalloc's prof) \
                         and compare the growing allocation sites"
            .into(),
    })
}

fn major_faults(process: &ProcessSummary, limits: &Thresholds) -> Option<Indicator> {
    let rate = process.major_faults_per_s;
    if rate <= limits.major_faults_warning_per_s {
        return None;
    }
    Some(Indicator {
        name: "major_faults".into(),
        subject: Some(format!("pid {}", process.pid)),
        severity: Severity::Warning,
        value: rate,
        threshold: limits.major_faults_warning_per_s,
        unit: "per_s".into(),
        message: format!(
            "process {} takes {rate:.1} major page faults/s: its working set does not fit in memory",
            process.pid
        ),
        recommendation: "give the host more memory or shrink the working set \
                         (smaller caches, streaming instead of loading whole files)"
            .into(),
    })
}

fn disk_latency(disk: &DiskSummary, limits: &Thresholds) -> Option<Indicator> {
    let latency = disk.latency_s?;
    let (severity, threshold) = two_level(
        latency,
        limits.disk_latency_warning_s,
        limits.disk_latency_critical_s,
    )?;
    let mut recommendation =
        "check the device's queue depth and what competes for it (`iostat -x 1`)".to_owned();
    if latency > limits.storage_latency_info_s {
        recommendation.push_str("; consider a faster storage class (provisioned-IOPS SSD or NVMe)");
    }
    Some(Indicator {
        name: "disk_latency".into(),
        subject: Some(disk.device.clone()),
        severity,
        value: latency,
        threshold,
        unit: "s".into(),
        message: format!(
            "{} mean latency {:.1} ms per operation (limit {:.0} ms)",
            disk.device,
            latency * 1000.0,
            threshold * 1000.0
        ),
        recommendation,
    })
}

fn disk_iops(disk: &DiskSummary, limits: &Thresholds) -> Option<Indicator> {
    let iops = disk.read_iops + disk.write_iops;
    if iops <= limits.storage_iops_info {
        return None;
    }
    Some(Indicator {
        name: "disk_iops".into(),
        subject: Some(disk.device.clone()),
        severity: Severity::Info,
        value: iops,
        threshold: limits.storage_iops_info,
        unit: "per_s".into(),
        message: format!("{} serves {iops:.0} IOPS", disk.device),
        recommendation: "consider a storage class with more provisioned IOPS".into(),
    })
}

fn disk_read_throughput(disk: &DiskSummary, limits: &Thresholds) -> Option<Indicator> {
    let rate = disk.read_bytes_per_s;
    if rate <= limits.storage_read_info_bytes_per_s {
        return None;
    }
    Some(Indicator {
        name: "disk_read_throughput".into(),
        subject: Some(disk.device.clone()),
        severity: Severity::Info,
        value: rate,
        threshold: limits.storage_read_info_bytes_per_s,
        unit: "bytes_per_s".into(),
        message: format!("{} reads {:.1} MB/s", disk.device, rate / 1e6),
        recommendation:
            "consider a throughput-optimised storage class, or cache hot data in memory".into(),
    })
}

fn mount_usage(mount: &MountSummary, limits: &Thresholds) -> Option<Indicator> {
    let used = mount.used_ratio;
    let (severity, threshold) = two_level(
        used,
        limits.mount_used_warning_ratio,
        limits.mount_used_critical_ratio,
    )?;
    Some(Indicator {
        name: "mount_usage".into(),
        subject: Some(mount.mount_point.clone()),
        severity,
        value: used,
        threshold,
        unit: "ratio".into(),
        message: format!(
            "{} is {:.1} % full ({:.1} GiB available)",
            mount.mount_point,
            used * 100.0,
            mount.available_bytes as f64 / (1024.0 * MIB)
        ),
        recommendation: "remove or rotate old data (logs, images) or grow the volume".into(),
    })
}
