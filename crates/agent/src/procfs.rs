//! Readers of the `/proc` figures that `sysinfo` does not provide: per-device
//! disk counters, context switches, interrupts and page faults.
//!
//! The parsers take the file's text so that tests can feed recorded files.
//! Field layouts follow the Linux `proc(5)` manual page and the kernel's
//! `Documentation/admin-guide/iostats.rst`.

use std::fs;

use crate::error::AgentError;
use crate::sample::DiskCounters;

/// Context switches and interrupts since boot, from `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelCounters {
    /// The `ctxt` line.
    pub context_switches_total: u64,
    /// The first number of the `intr` line (the total over all interrupt sources).
    pub interrupts_total: u64,
}

/// Page faults and threads of one process, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessCounters {
    /// Field 10, `minflt`.
    pub minor_faults_total: u64,
    /// Field 12, `majflt`.
    pub major_faults_total: u64,
    /// Field 20, `num_threads`.
    pub threads: u64,
}

/// Parses `/proc/diskstats` into one entry per device line.
///
/// Each line is `major minor name` followed by at least 11 counters. Newer
/// kernels append discard and flush counters, which are ignored.
pub fn parse_diskstats(text: &str) -> Result<Vec<DiskCounters>, AgentError> {
    let mut disks = Vec::new();

    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 14 {
            return Err(format_error(
                "/proc/diskstats",
                format!(
                    "expected at least 14 fields, found {} in {line:?}",
                    fields.len()
                ),
            ));
        }

        let counter = |index: usize| -> Result<u64, AgentError> {
            fields[index].parse().map_err(|_| {
                format_error(
                    "/proc/diskstats",
                    format!("field {} is not a counter in {line:?}", index + 1),
                )
            })
        };

        // Counter k of the kernel's documentation sits at index k + 2.
        disks.push(DiskCounters {
            device: fields[2].to_owned(),
            reads_completed: counter(3)?,
            sectors_read: counter(5)?,
            read_time_ms: counter(6)?,
            writes_completed: counter(7)?,
            sectors_written: counter(9)?,
            write_time_ms: counter(10)?,
            io_time_ms: counter(12)?,
        });
    }

    Ok(disks)
}

/// Parses the `ctxt` and `intr` lines of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Result<KernelCounters, AgentError> {
    let first_number = |key: &str| -> Result<u64, AgentError> {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().next() == Some(key))
            .ok_or_else(|| format_error("/proc/stat", format!("no `{key}` line")))?;
        line.split_whitespace()
            .nth(1)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format_error("/proc/stat", format!("no number on the `{key}` line")))
    };

    Ok(KernelCounters {
        context_switches_total: first_number("ctxt")?,
        interrupts_total: first_number("intr")?,
    })
}

/// Parses `/proc/PID/stat`.
///
/// The command name (field 2) is in parentheses and may itself contain spaces
/// and parentheses, so the fields are counted from the last `)`.
pub fn parse_pid_stat(text: &str) -> Result<ProcessCounters, AgentError> {
    let path = "/proc/PID/stat";
    let after_name = text
        .rfind(')')
        .map(|end| &text[end + 1..])
        .ok_or_else(|| format_error(path, "no `)` after the command name".to_owned()))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();

    // `fields[0]` is field 3 (state), so field n is at index n - 3.
    let field = |number: usize| -> Result<u64, AgentError> {
        fields
            .get(number - 3)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format_error(path, format!("field {number} is missing or not a number")))
    };

    Ok(ProcessCounters {
        minor_faults_total: field(10)?,
        major_faults_total: field(12)?,
        threads: field(20)?,
    })
}

/// Reads the counters of whole block devices, leaving out partitions, loop
/// devices and RAM disks.
///
/// A whole device has an entry in `/sys/block` but a partition does not.
/// Counting both would count each I/O twice.
///
/// NOTE: where `/sys` is not mounted (some containers), no device passes
/// this filter and the report lists no disk I/O.
pub fn read_disk_counters() -> Result<Vec<DiskCounters>, AgentError> {
    let text = read("/proc/diskstats")?;
    let disks = parse_diskstats(&text)?
        .into_iter()
        .filter(|disk| is_physical_device(&disk.device))
        .collect();
    Ok(disks)
}

/// Reads context switches and interrupts from `/proc/stat`.
pub fn read_kernel_counters() -> Result<KernelCounters, AgentError> {
    parse_proc_stat(&read("/proc/stat")?)
}

/// Reads page faults and threads of `pid` from `/proc/PID/stat`.
pub fn read_process_counters(pid: u32) -> Result<ProcessCounters, AgentError> {
    parse_pid_stat(&read(&format!("/proc/{pid}/stat"))?)
}

fn is_physical_device(device: &str) -> bool {
    let virtual_prefixes = ["loop", "ram", "zram"];
    !virtual_prefixes
        .iter()
        .any(|prefix| device.starts_with(prefix))
        && std::path::Path::new("/sys/block").join(device).exists()
}

fn read(path: &str) -> Result<String, AgentError> {
    fs::read_to_string(path).map_err(|source| AgentError::Proc {
        path: path.to_owned(),
        source,
    })
}

fn format_error(path: &str, detail: String) -> AgentError {
    AgentError::ProcFormat {
        path: path.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diskstats_line_maps_counters() {
        let text = " 254       0 vda 33708 5549 3420722 20315 7632 10416 2103648 5740 0 5388 26504 3058 0 589832 422 757 25\n";
        let disks = parse_diskstats(text).unwrap();

        assert_eq!(disks.len(), 1);
        let disk = &disks[0];
        assert_eq!(disk.device, "vda");
        assert_eq!(disk.reads_completed, 33708);
        assert_eq!(disk.sectors_read, 3_420_722);
        assert_eq!(disk.read_time_ms, 20315);
        assert_eq!(disk.writes_completed, 7632);
        assert_eq!(disk.sectors_written, 2_103_648);
        assert_eq!(disk.write_time_ms, 5740);
        assert_eq!(disk.io_time_ms, 5388);
    }

    #[test]
    fn diskstats_short_line_is_rejected() {
        let error = parse_diskstats("8 0 sda 1 2 3\n").unwrap_err();

        assert!(error.to_string().contains("at least 14 fields"), "{error}");
    }

    #[test]
    fn proc_stat_reads_ctxt_and_intr() {
        let text =
            "cpu  10394 0 2657 53445 299 0 53 6 0 0\nintr 168734 0 0 1 67\nctxt 279540\nbtime 1\n";
        let counters = parse_proc_stat(text).unwrap();

        assert_eq!(counters.context_switches_total, 279_540);
        assert_eq!(counters.interrupts_total, 168_734);
    }

    #[test]
    fn pid_stat_name_with_spaces() {
        // Fields 3 to 20 follow the name, with minflt = 100, majflt = 7 and num_threads = 5.
        let text = "42 (my (odd) name) S 1 42 42 0 -1 4194304 100 0 7 0 0 0 0 0 20 0 5 0 33613 3133440 417";
        let counters = parse_pid_stat(text).unwrap();

        assert_eq!(counters.minor_faults_total, 100);
        assert_eq!(counters.major_faults_total, 7);
        assert_eq!(counters.threads, 5);
    }
}
