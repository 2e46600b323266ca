//! The limits above which an indicator fires.

use serde::{Deserialize, Serialize};

use crate::error::AgentError;

/// One mebibyte, in bytes.
pub const MIB: f64 = 1024.0 * 1024.0;

/// Limits for the bottleneck indicators.
///
/// Every indicator fires only when its measured value is strictly above the
/// limit: a value equal to the limit does not fire. Ratios are 0 to 1, times
/// are seconds, rates are per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Host CPU p95 (percent of all cores) above which a warning fires. Default 80.
    pub cpu_p95_warning_percent: f64,
    /// Host CPU p95 above which the indicator is critical. Default 90.
    pub cpu_p95_critical_percent: f64,
    /// 1-minute load average per core above which the host is critical. Default 1.0,
    /// so more runnable tasks than cores.
    pub load_per_core_critical: f64,
    /// Variance of the per-core mean CPU %, in percent², above which the
    /// cores count as unevenly loaded (warning). Default 100, a standard
    /// deviation of 10 points.
    pub per_core_variance_warning: f64,
    /// Process RSS as a share of host memory above which it is critical. Default 0.8.
    pub rss_share_critical: f64,
    /// RSS growth in bytes per second above which a leak is suspected
    /// (critical). Default 1 MiB/s.
    pub rss_growth_critical_bytes_per_s: f64,
    /// Major page faults per second of the process above which a warning fires.
    /// Default 10.
    ///
    /// A Rust process has no garbage collector. A major fault reads a page
    /// back from disk, so a steady rate of them means its working set no
    /// longer fits in memory. That is the observable cost that frequent full
    /// collections signal in a garbage-collected runtime.
    pub major_faults_warning_per_s: f64,
    /// Mean disk latency per operation above which a warning fires. Default 0.010 s.
    pub disk_latency_warning_s: f64,
    /// Mean disk latency per operation above which the device is critical. Default 0.050 s.
    pub disk_latency_critical_s: f64,
    /// Share of a file system in use above which a warning fires. Default 0.8.
    pub mount_used_warning_ratio: f64,
    /// Share of a file system in use above which it is critical. Default 0.9.
    pub mount_used_critical_ratio: f64,
    /// Device IOPS (reads + writes) above which a faster storage class is
    /// suggested (info). Default 3000.
    pub storage_iops_info: f64,
    /// Device read throughput in bytes per second above which a faster storage
    /// class is suggested (info). Default 100 MB/s (10⁸ bytes/s).
    pub storage_read_info_bytes_per_s: f64,
    /// Mean latency per operation above which a faster storage class is
    /// suggested alongside the latency warning. Default 0.020 s.
    pub storage_latency_info_s: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu_p95_warning_percent: 80.0,
            cpu_p95_critical_percent: 90.0,
            load_per_core_critical: 1.0,
            per_core_variance_warning: 100.0,
            rss_share_critical: 0.8,
            rss_growth_critical_bytes_per_s: MIB,
            major_faults_warning_per_s: 10.0,
            disk_latency_warning_s: 0.010,
            disk_latency_critical_s: 0.050,
            mount_used_warning_ratio: 0.8,
            mount_used_critical_ratio: 0.9,
            storage_iops_info: 3000.0,
            storage_read_info_bytes_per_s: 100e6,
            storage_latency_info_s: 0.020,
        }
    }
}

impl Thresholds {
    /// Checks that every limit is a finite number of at least 0 and that each
    /// warning limit is at most its critical limit.
    ///
    /// # Errors
    /// [`AgentError::InvalidThreshold`] naming the first limit out of range.
    pub fn validate(&self) -> Result<(), AgentError> {
        let limits = [
            ("cpu_p95_warning_percent", self.cpu_p95_warning_percent),
            ("cpu_p95_critical_percent", self.cpu_p95_critical_percent),
            ("load_per_core_critical", self.load_per_core_critical),
            ("per_core_variance_warning", self.per_core_variance_warning),
            ("rss_share_critical", self.rss_share_critical),
            (
                "rss_growth_critical_bytes_per_s",
                self.rss_growth_critical_bytes_per_s,
            ),
            (
                "major_faults_warning_per_s",
                self.major_faults_warning_per_s,
            ),
            ("disk_latency_warning_s", self.disk_latency_warning_s),
            ("disk_latency_critical_s", self.disk_latency_critical_s),
            ("mount_used_warning_ratio", self.mount_used_warning_ratio),
            ("mount_used_critical_ratio", self.mount_used_critical_ratio),
            ("storage_iops_info", self.storage_iops_info),
            (
                "storage_read_info_bytes_per_s",
                self.storage_read_info_bytes_per_s,
            ),
            ("storage_latency_info_s", self.storage_latency_info_s),
        ];
        for (name, value) in limits {
            if !(value.is_finite() && value >= 0.0) {
                return Err(AgentError::InvalidThreshold {
                    name,
                    value,
                    expected: "a finite number of at least 0",
                });
            }
        }

        let pairs = [
            (
                "cpu_p95_warning_percent",
                self.cpu_p95_warning_percent,
                self.cpu_p95_critical_percent,
            ),
            (
                "disk_latency_warning_s",
                self.disk_latency_warning_s,
                self.disk_latency_critical_s,
            ),
            (
                "mount_used_warning_ratio",
                self.mount_used_warning_ratio,
                self.mount_used_critical_ratio,
            ),
        ];
        for (name, warning, critical) in pairs {
            if warning > critical {
                return Err(AgentError::InvalidThreshold {
                    name,
                    value: warning,
                    expected: "at most the matching critical limit",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Thresholds::default().validate().is_ok());
    }

    #[test]
    fn warning_above_critical_is_rejected() {
        let thresholds = Thresholds {
            disk_latency_warning_s: 0.1,
            ..Thresholds::default()
        };

        let error = thresholds.validate().unwrap_err();

        assert!(
            error.to_string().contains("disk_latency_warning_s"),
            "{error}"
        );
    }

    #[test]
    fn negative_limit_is_rejected() {
        let thresholds = Thresholds {
            storage_iops_info: -1.0,
            ..Thresholds::default()
        };

        assert!(thresholds.validate().is_err());
    }
}
