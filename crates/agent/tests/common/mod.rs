//! Builders of recorded-style samples for the indicator and summary tests.

#![allow(dead_code)]

use queuelab_agent::{DiskCounters, HostSample, MountUsage, ProcessSample, Sample};

/// Host memory of the fixtures: 1 000 000 000 bytes, so shares are exact decimals.
pub const HOST_MEMORY_BYTES: u64 = 1_000_000_000;

/// Builds a quiet two-core host sample at `elapsed_s`: 10 % CPU, load 0.1, 10 % memory in use.
pub fn quiet_sample(elapsed_s: f64) -> Sample {
    Sample {
        elapsed_s,
        process: None,
        host: HostSample {
            cpu_percent: 10.0,
            per_core_cpu_percent: vec![10.0, 10.0],
            load_average_1m: 0.1,
            load_average_5m: 0.1,
            load_average_15m: 0.1,
            memory_total_bytes: HOST_MEMORY_BYTES,
            memory_used_bytes: HOST_MEMORY_BYTES / 10,
            context_switches_total: 0,
            interrupts_total: 0,
        },
        disks: Vec::new(),
        mounts: Vec::new(),
        sampler_cpu_s: 0.0,
    }
}

/// Builds a process sample with the given RSS and major faults, other figures quiet.
pub fn process(rss_bytes: u64, major_faults_total: u64) -> ProcessSample {
    ProcessSample {
        pid: 4242,
        cpu_percent: 5.0,
        rss_bytes,
        virtual_bytes: 4 * rss_bytes,
        disk_read_bytes_total: 0,
        disk_written_bytes_total: 0,
        minor_faults_total: 0,
        major_faults_total,
        threads: 4,
    }
}

/// Builds counters of device `vda` with the given reads, writes and times.
pub fn disk(reads: u64, read_time_ms: u64, writes: u64, write_time_ms: u64) -> DiskCounters {
    DiskCounters {
        device: "vda".into(),
        reads_completed: reads,
        sectors_read: 0,
        read_time_ms,
        writes_completed: writes,
        sectors_written: 0,
        write_time_ms,
        io_time_ms: 0,
    }
}

/// Builds a mount of `total_bytes` with `available_bytes` free.
pub fn mount(total_bytes: u64, available_bytes: u64) -> MountUsage {
    MountUsage {
        mount_point: "/data".into(),
        file_system: "ext4".into(),
        total_bytes,
        available_bytes,
    }
}

/// Builds twenty quiet samples one second apart, t = 0 … 19 s.
pub fn quiet_window() -> Vec<Sample> {
    (0..20).map(|t| quiet_sample(f64::from(t))).collect()
}
