//! Gauges of the process's and host's CPU, memory and disk I/O, read with
//! the `queuelab-agent` sampler when metrics are collected.
//!
//! Names and units follow the OpenTelemetry system and process conventions:
//! utilization as a ratio (unit `1`), memory and I/O in bytes (`By`).
//!
//! NOTE: this sampler is separate from the one behind a station's window
//! reports, so a station reads `/proc` twice. This one reads it once per
//! metric export (every 60 s by default).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Meter, ObservableCounter, ObservableGauge};
use queuelab_agent::{ProcessTarget, Sample, Sampler};

/// Age under which a cached sample is reused, so that the gauges read in one
/// collection share one sample.
const SAMPLE_REUSE: Duration = Duration::from_secs(1);

/// The sampler and its latest sample.
struct AgentSource {
    sampler: Sampler,
    latest: Option<(Instant, Sample)>,
}

impl AgentSource {
    /// Returns a sample no older than [`SAMPLE_REUSE`], taking a new one when
    /// needed. Returns `None` when sampling fails, which is logged at debug
    /// level because the next collection tries again.
    fn sample(&mut self) -> Option<Sample> {
        let fresh = self
            .latest
            .as_ref()
            .is_some_and(|(taken, _)| taken.elapsed() < SAMPLE_REUSE);
        if !fresh {
            match self.sampler.sample() {
                Ok(sample) => self.latest = Some((Instant::now(), sample)),
                Err(error) => {
                    tracing::debug!(%error, "agent sample for the metrics failed");
                    return None;
                }
            }
        }
        self.latest.as_ref().map(|(_, sample)| sample.clone())
    }
}

/// The registered agent gauges; dropping them has no effect on export, so
/// they are kept only to tie their lifetime to the pipeline's.
pub(crate) struct AgentGauges {
    _ratios: [ObservableGauge<f64>; 2],
    _bytes: [ObservableGauge<u64>; 3],
    _disk_io: ObservableCounter<u64>,
}

/// Registers the agent gauges on `meter`, or returns `None` with a warning
/// when the sampler cannot start.
pub(crate) fn register(meter: &Meter) -> Option<AgentGauges> {
    let sampler = match Sampler::new(ProcessTarget::Current) {
        Ok(sampler) => sampler,
        Err(error) => {
            tracing::warn!(%error, "host agent failed to start; CPU, memory and I/O metrics are not exported");
            return None;
        }
    };
    let source = Arc::new(Mutex::new(AgentSource {
        sampler,
        latest: None,
    }));
    let read = move || {
        source
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .sample()
    };
    let read = Arc::new(read);

    let sample = Arc::clone(&read);
    let process_cpu = meter
        .f64_observable_gauge("process.cpu.utilization")
        .with_unit("1")
        .with_description(
            "CPU time of this process per second of wall time, divided by the logical cores",
        )
        .with_callback(move |observer| {
            let Some(sample) = sample() else {
                return;
            };
            let cores = sample.host.per_core_cpu_percent.len().max(1) as f64;
            if let Some(process) = sample.process {
                // The agent gives percent of one core (200 = two busy cores).
                observer.observe(process.cpu_percent / 100.0 / cores, &[]);
            }
        })
        .build();

    let sample = Arc::clone(&read);
    let process_memory = meter
        .u64_observable_gauge("process.memory.usage")
        .with_unit("By")
        .with_description("Resident set size of this process")
        .with_callback(move |observer| {
            if let Some(process) = sample().and_then(|sample| sample.process) {
                observer.observe(process.rss_bytes, &[]);
            }
        })
        .build();

    let sample = Arc::clone(&read);
    let process_virtual = meter
        .u64_observable_gauge("process.memory.virtual")
        .with_unit("By")
        .with_description("Virtual memory size of this process")
        .with_callback(move |observer| {
            if let Some(process) = sample().and_then(|sample| sample.process) {
                observer.observe(process.virtual_bytes, &[]);
            }
        })
        .build();

    let sample = Arc::clone(&read);
    let process_disk = meter
        .u64_observable_counter("process.disk.io")
        .with_unit("By")
        .with_description("Bytes this process read from and wrote to storage")
        .with_callback(move |observer| {
            if let Some(process) = sample().and_then(|sample| sample.process) {
                let read = [KeyValue::new("disk.io.direction", "read")];
                let write = [KeyValue::new("disk.io.direction", "write")];
                observer.observe(process.disk_read_bytes_total, &read);
                observer.observe(process.disk_written_bytes_total, &write);
            }
        })
        .build();

    let sample = Arc::clone(&read);
    let system_cpu = meter
        .f64_observable_gauge("system.cpu.utilization")
        .with_unit("1")
        .with_description("Busy share of the host's CPUs")
        .with_callback(move |observer| {
            if let Some(sample) = sample() {
                observer.observe(sample.host.cpu_percent / 100.0, &[]);
            }
        })
        .build();

    let sample = read;
    let system_memory = meter
        .u64_observable_gauge("system.memory.usage")
        .with_unit("By")
        .with_description("Host memory in use")
        .with_callback(move |observer| {
            if let Some(sample) = sample() {
                let used = [KeyValue::new("system.memory.state", "used")];
                observer.observe(sample.host.memory_used_bytes, &used);
            }
        })
        .build();

    Some(AgentGauges {
        _ratios: [process_cpu, system_cpu],
        _bytes: [process_memory, process_virtual, system_memory],
        _disk_io: process_disk,
    })
}
