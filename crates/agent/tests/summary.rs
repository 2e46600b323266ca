//! Window summaries from recorded samples, checked against hand-worked figures.

mod common;

use queuelab_agent::{Sample, Severity, Thresholds, evaluate, summarize, summarize_disk};

fn disk_window() -> Vec<Sample> {
    let text = include_str!("fixtures/disk_window.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
}

#[test]
fn disk_latency_is_ms_per_op_in_seconds() {
    // Over 10 s, vda completed 400 reads in 2000 ms and 100 writes in 2000 ms.
    // Per read 2000 / 400 = 5 ms, per write 2000 / 100 = 20 ms,
    // per operation 4000 / 500 = 8 ms = 0.008 s (not 0.000008 s).
    let summary = summarize(&disk_window()).unwrap();
    let vda = summary.disks.iter().find(|d| d.device == "vda").unwrap();

    assert_eq!(vda.read_latency_s, Some(0.005));
    assert_eq!(vda.write_latency_s, Some(0.020));
    assert_eq!(vda.latency_s, Some(0.008));
}

#[test]
fn disk_rates_from_sectors_and_ops() {
    // 80 000 sectors × 512 B = 40 960 000 B in 10 s, and 20 000 sectors = 10 240 000 B.
    let summary = summarize(&disk_window()).unwrap();
    let vda = summary.disks.iter().find(|d| d.device == "vda").unwrap();

    assert_eq!(vda.read_bytes_per_s, 4_096_000.0);
    assert_eq!(vda.write_bytes_per_s, 1_024_000.0);
    assert_eq!(vda.read_iops, 40.0);
    assert_eq!(vda.write_iops, 10.0);
    // io_time grew by 2500 ms in a 10 s window.
    assert_eq!(vda.busy_ratio, 0.25);
}

#[test]
fn idle_disk_has_no_latency() {
    let summary = summarize(&disk_window()).unwrap();
    let vdb = summary.disks.iter().find(|d| d.device == "vdb").unwrap();

    assert_eq!(vdb.latency_s, None);
    assert_eq!(vdb.read_iops, 0.0);
}

#[test]
fn host_figures_of_disk_window() {
    let summary = summarize(&disk_window()).unwrap();

    assert_eq!(summary.sample_count, 2);
    assert_eq!(summary.window_s, 10.0);
    assert_eq!(summary.cores, 2);
    // CPU 12 and 18: mean 15, nearest-rank p95 of two values is the larger.
    assert_eq!(summary.host_cpu_percent.avg, 15.0);
    assert_eq!(summary.host_cpu_percent.p95, 18.0);
    // Core means 13 and 17: variance ((−2)² + 2²) / 2 = 4.
    assert_eq!(summary.per_core_avg_percent, vec![13.0, 17.0]);
    assert_eq!(summary.per_core_variance, 4.0);
    assert!(close(summary.load_average_1m, 0.6));
    // 50 000 context switches and 20 000 interrupts in 10 s.
    assert_eq!(summary.context_switches_per_s, 5000.0);
    assert_eq!(summary.interrupts_per_s, 2000.0);
    assert_eq!(summary.host_memory_used_ratio, 0.25);
    assert!(close(summary.sampler_cpu_s_per_sample, 0.0005));
}

#[test]
fn full_mount_is_critical() {
    // 95 GB of 100 GB used at the last sample.
    let summary = summarize(&disk_window()).unwrap();
    let indicators = evaluate(&summary, &Thresholds::default());

    assert_eq!(summary.mounts[0].used_ratio, 0.95);
    let mount = indicators.iter().find(|i| i.name == "mount_usage").unwrap();
    assert_eq!(mount.severity, Severity::Critical);
    assert_eq!(mount.subject.as_deref(), Some("/"));
}

#[test]
fn summarize_disk_directly() {
    let before = common::disk(0, 0, 0, 0);
    let after = common::disk(3, 30, 1, 90);

    let summary = summarize_disk(&before, &after, 2.0);

    // 120 ms over 4 operations = 30 ms. Reads take 10 ms each, the write 90 ms.
    assert_eq!(summary.latency_s, Some(0.030));
    assert_eq!(summary.read_latency_s, Some(0.010));
    assert_eq!(summary.write_latency_s, Some(0.090));
    assert_eq!(summary.read_iops, 1.5);
}

#[test]
fn counter_reset_counts_as_no_change() {
    let before = common::disk(500, 900, 0, 0);
    let after = common::disk(10, 20, 0, 0);

    let summary = summarize_disk(&before, &after, 1.0);

    assert_eq!(summary.read_iops, 0.0);
    assert_eq!(summary.latency_s, None);
}

#[test]
fn rss_growth_uses_least_squares() {
    // RSS 100 MB flat for 10 samples, then one 50 MB spike in the last
    // sample. First/last would give 50 MB / 10 s = 5 MB/s, but the fitted slope
    // is 50e6 × (10 − 5) / Σ(dx²) = 50e6 × 5 / 110 ≈ 2.27 MB/s.
    let mut samples: Vec<Sample> = (0..11)
        .map(|t| common::quiet_sample(f64::from(t)))
        .collect();
    for (index, sample) in samples.iter_mut().enumerate() {
        let rss = if index == 10 {
            150_000_000
        } else {
            100_000_000
        };
        sample.process = Some(common::process(rss, 0));
    }

    let summary = summarize(&samples).unwrap();
    let growth = summary.process.unwrap().rss_growth_bytes_per_s;

    assert!(close(growth, 50e6 * 5.0 / 110.0), "growth {growth}");
}

#[test]
fn empty_window_has_no_summary() {
    assert!(summarize(&[]).is_none());
}
