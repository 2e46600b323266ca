//! Each indicator's threshold edges: just below, at and just above the
//! limit. An indicator fires only strictly above its limit.

mod common;

use common::{HOST_MEMORY_BYTES, disk, mount, process, quiet_sample, quiet_window};
use queuelab_agent::{Indicator, Sample, Severity, Thresholds, evaluate, summarize};

const MIB: u64 = 1024 * 1024;

fn fired(samples: &[Sample]) -> Vec<Indicator> {
    evaluate(&summarize(samples).unwrap(), &Thresholds::default())
}

fn severity_of(samples: &[Sample], name: &str) -> Option<Severity> {
    fired(samples)
        .into_iter()
        .find(|indicator| indicator.name == name)
        .map(|indicator| indicator.severity)
}

fn with_cpu(percent: f64) -> Vec<Sample> {
    let mut samples = quiet_window();
    for sample in &mut samples {
        sample.host.cpu_percent = percent;
    }
    samples
}

#[test]
fn quiet_host_fires_nothing() {
    assert_eq!(fired(&quiet_window()), Vec::new());
}

#[test]
fn cpu_p95_warning_edges() {
    assert_eq!(severity_of(&with_cpu(79.9), "cpu_p95"), None);
    assert_eq!(severity_of(&with_cpu(80.0), "cpu_p95"), None);
    assert_eq!(
        severity_of(&with_cpu(80.1), "cpu_p95"),
        Some(Severity::Warning)
    );
}

#[test]
fn cpu_p95_critical_edges() {
    assert_eq!(
        severity_of(&with_cpu(89.9), "cpu_p95"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_cpu(90.0), "cpu_p95"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_cpu(90.1), "cpu_p95"),
        Some(Severity::Critical)
    );
}

#[test]
fn cpu_p95_ignores_one_spike_in_twenty() {
    // One sample in twenty at 100 %: rank ceil(0.95 × 20) = 19 is still 10 %.
    let mut samples = with_cpu(10.0);
    samples[7].host.cpu_percent = 100.0;

    assert_eq!(severity_of(&samples, "cpu_p95"), None);
}

#[test]
fn cpu_p95_indicator_carries_value_and_threshold() {
    let indicators = fired(&with_cpu(95.0));
    let cpu = indicators.iter().find(|i| i.name == "cpu_p95").unwrap();

    assert_eq!(cpu.value, 95.0);
    assert_eq!(cpu.threshold, 90.0);
    assert_eq!(cpu.unit, "percent");
    assert!(!cpu.recommendation.is_empty());
}

fn with_load(load_1m: f64) -> Vec<Sample> {
    let mut samples = quiet_window();
    for sample in &mut samples {
        sample.host.load_average_1m = load_1m;
    }
    samples
}

#[test]
fn load_average_edges_on_two_cores() {
    assert_eq!(severity_of(&with_load(1.99), "load_average"), None);
    assert_eq!(severity_of(&with_load(2.0), "load_average"), None);
    assert_eq!(
        severity_of(&with_load(2.01), "load_average"),
        Some(Severity::Critical)
    );
}

fn with_cores(first: f64, second: f64) -> Vec<Sample> {
    let mut samples = quiet_window();
    for sample in &mut samples {
        sample.host.per_core_cpu_percent = vec![first, second];
    }
    samples
}

#[test]
fn uneven_cores_edges() {
    // Two cores at 50 ± d: the variance is d².
    // d = 9.9 gives 98.01, d = 10 gives 100, d = 10.1 gives 102.01.
    assert_eq!(severity_of(&with_cores(40.1, 59.9), "uneven_cores"), None);
    assert_eq!(severity_of(&with_cores(40.0, 60.0), "uneven_cores"), None);
    assert_eq!(
        severity_of(&with_cores(39.9, 60.1), "uneven_cores"),
        Some(Severity::Warning)
    );
}

fn with_rss(rss_bytes: u64) -> Vec<Sample> {
    let mut samples = quiet_window();
    for sample in &mut samples {
        sample.process = Some(process(rss_bytes, 0));
    }
    samples
}

#[test]
fn rss_share_edges() {
    // Host memory 10⁹ bytes: 80 % is 800 000 000 bytes.
    let at = HOST_MEMORY_BYTES / 10 * 8;

    assert_eq!(severity_of(&with_rss(at - 1), "rss_share"), None);
    assert_eq!(severity_of(&with_rss(at), "rss_share"), None);
    assert_eq!(
        severity_of(&with_rss(at + 1), "rss_share"),
        Some(Severity::Critical)
    );
}

fn with_rss_growth(bytes_per_s: u64) -> Vec<Sample> {
    let mut samples: Vec<Sample> = (0..11).map(|t| quiet_sample(f64::from(t))).collect();
    for (t, sample) in (0u64..).zip(&mut samples) {
        sample.process = Some(process(100 * MIB + bytes_per_s * t, 0));
    }
    samples
}

#[test]
fn rss_growth_edges() {
    // A straight line of slope exactly 1 MiB/s, and one byte per second either side.
    assert_eq!(severity_of(&with_rss_growth(MIB - 1), "rss_growth"), None);
    assert_eq!(severity_of(&with_rss_growth(MIB), "rss_growth"), None);
    assert_eq!(
        severity_of(&with_rss_growth(MIB + 1), "rss_growth"),
        Some(Severity::Critical)
    );
}

fn with_major_faults(total_after_10_s: u64) -> Vec<Sample> {
    let mut first = quiet_sample(0.0);
    first.process = Some(process(100 * MIB, 0));
    let mut last = quiet_sample(10.0);
    last.process = Some(process(100 * MIB, total_after_10_s));
    vec![first, last]
}

#[test]
fn major_faults_edges() {
    // Default limit 10 per second over a 10 s window: 100 faults is exactly at it.
    assert_eq!(severity_of(&with_major_faults(99), "major_faults"), None);
    assert_eq!(severity_of(&with_major_faults(100), "major_faults"), None);
    assert_eq!(
        severity_of(&with_major_faults(101), "major_faults"),
        Some(Severity::Warning)
    );
}

fn with_disk_time(total_ms_for_100_ops: u64) -> Vec<Sample> {
    let mut first = quiet_sample(0.0);
    first.disks = vec![disk(0, 0, 0, 0)];
    let mut last = quiet_sample(10.0);
    // 60 reads and 40 writes, with the time split 60/40 as well.
    let read_ms = total_ms_for_100_ops * 6 / 10;
    last.disks = vec![disk(60, read_ms, 40, total_ms_for_100_ops - read_ms)];
    vec![first, last]
}

#[test]
fn disk_latency_warning_edges() {
    // 100 operations: 990 ms is 9.9 ms each, 1000 ms is 10 ms, 1010 ms is 10.1 ms.
    assert_eq!(severity_of(&with_disk_time(990), "disk_latency"), None);
    assert_eq!(severity_of(&with_disk_time(1000), "disk_latency"), None);
    assert_eq!(
        severity_of(&with_disk_time(1010), "disk_latency"),
        Some(Severity::Warning)
    );
}

#[test]
fn disk_latency_critical_edges() {
    assert_eq!(
        severity_of(&with_disk_time(4990), "disk_latency"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_disk_time(5000), "disk_latency"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_disk_time(5010), "disk_latency"),
        Some(Severity::Critical)
    );
}

#[test]
fn disk_latency_value_in_seconds() {
    let indicators = fired(&with_disk_time(2500));
    let latency = indicators
        .iter()
        .find(|i| i.name == "disk_latency")
        .unwrap();

    // 2500 ms over 100 operations = 25 ms, above the 20 ms storage-class hint.
    assert_eq!(latency.value, 0.025);
    assert_eq!(latency.unit, "s");
    assert!(latency.recommendation.contains("faster storage class"));
}

fn with_mount_used(used_bytes: u64) -> Vec<Sample> {
    let mut samples = quiet_window();
    for sample in &mut samples {
        sample.mounts = vec![mount(1000, 1000 - used_bytes)];
    }
    samples
}

#[test]
fn mount_usage_warning_edges() {
    assert_eq!(severity_of(&with_mount_used(799), "mount_usage"), None);
    assert_eq!(severity_of(&with_mount_used(800), "mount_usage"), None);
    assert_eq!(
        severity_of(&with_mount_used(801), "mount_usage"),
        Some(Severity::Warning)
    );
}

#[test]
fn mount_usage_critical_edges() {
    assert_eq!(
        severity_of(&with_mount_used(899), "mount_usage"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_mount_used(900), "mount_usage"),
        Some(Severity::Warning)
    );
    assert_eq!(
        severity_of(&with_mount_used(901), "mount_usage"),
        Some(Severity::Critical)
    );
}

fn with_reads(reads_in_10_s: u64, sectors_in_10_s: u64) -> Vec<Sample> {
    let mut first = quiet_sample(0.0);
    first.disks = vec![disk(0, 0, 0, 0)];
    let mut last = quiet_sample(10.0);
    let mut after = disk(reads_in_10_s, reads_in_10_s / 1000, 0, 0);
    after.sectors_read = sectors_in_10_s;
    last.disks = vec![after];
    vec![first, last]
}

#[test]
fn disk_iops_edges() {
    // 3000 IOPS over 10 s is 30 000 reads.
    assert_eq!(severity_of(&with_reads(29_990, 0), "disk_iops"), None);
    assert_eq!(severity_of(&with_reads(30_000, 0), "disk_iops"), None);
    assert_eq!(
        severity_of(&with_reads(30_010, 0), "disk_iops"),
        Some(Severity::Info)
    );
}

#[test]
fn disk_read_throughput_edges() {
    // 100 MB/s over 10 s is 10⁹ bytes = 1 953 125 sectors of 512 bytes.
    let at = 1_953_125;
    assert_eq!(
        severity_of(&with_reads(10, at - 1), "disk_read_throughput"),
        None
    );
    assert_eq!(
        severity_of(&with_reads(10, at), "disk_read_throughput"),
        None
    );
    assert_eq!(
        severity_of(&with_reads(10, at + 1), "disk_read_throughput"),
        Some(Severity::Info)
    );
}

#[test]
fn indicators_sorted_most_severe_first() {
    let mut samples = with_cpu(85.0);
    for sample in &mut samples {
        sample.host.load_average_1m = 4.0;
    }

    let severities: Vec<Severity> = fired(&samples).iter().map(|i| i.severity).collect();

    assert_eq!(severities, vec![Severity::Critical, Severity::Warning]);
}

#[test]
fn custom_thresholds_apply() {
    let thresholds = Thresholds {
        cpu_p95_warning_percent: 50.0,
        ..Thresholds::default()
    };
    let summary = summarize(&with_cpu(60.0)).unwrap();

    let indicators = evaluate(&summary, &thresholds);

    assert_eq!(indicators.len(), 1);
    assert_eq!(indicators[0].threshold, 50.0);
}

#[test]
fn report_round_trips_through_json() {
    let report =
        queuelab_agent::AgentReport::from_samples(&with_cpu(95.0), &Thresholds::default(), 0)
            .unwrap();

    let json = serde_json::to_string(&report).unwrap();
    let parsed: queuelab_agent::AgentReport = serde_json::from_str(&json).unwrap();

    assert_eq!(parsed, report);
    assert!(json.contains("\"severity\":\"critical\""), "{json}");
}
