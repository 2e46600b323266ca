//! Instance ranking on hand-worked cases with the shipped catalog.
//!
//! Scores are worked by hand from score = 0.5 × capacity + 0.25 × thread +
//! 0.25 × burst, with required vCPUs = p95 / 100 / 0.8.

use queuelab_sizing::{Catalog, SizingError, WorkloadProfile, rank};

fn names(ranked: &[queuelab_sizing::RankedInstance]) -> Vec<&str> {
    ranked.iter().map(|r| r.instance.name.as_str()).collect()
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-12
}

#[test]
fn sustained_two_threads_prefers_c5_large() {
    // avg 100 %, p95 150 %, 2 threads, sustained: required 1.875 vCPUs.
    // c5.large: capacity 1.875 / 2 = 0.9375, thread 1, burst 1 → 0.96875.
    // t3.large: capacity 0.9375, thread 1, burst 0.5 × min(1, 0.6 / 1.0) = 0.3 → 0.79375.
    // t3.medium: capacity 0.9375, thread 1, burst 0.5 × 0.4 = 0.2 → 0.76875.
    // c5.xlarge: capacity 1.875 / 4 = 0.46875, thread 0.5, burst 1 → 0.609375.
    let workload = WorkloadProfile {
        avg_cpu_percent: 100.0,
        p95_cpu_percent: 150.0,
        threads: 2,
        bursty: false,
    };

    let ranked = rank(&Catalog::builtin(), &workload, 3).unwrap();

    assert_eq!(names(&ranked), vec!["c5.large", "t3.large", "t3.medium"]);
    assert!(close(ranked[0].score, 0.96875), "{}", ranked[0].score);
    assert!(close(ranked[1].score, 0.79375), "{}", ranked[1].score);
    assert!(close(ranked[2].score, 0.76875), "{}", ranked[2].score);
    assert!(close(ranked[0].capacity_match, 0.9375));
    assert!(close(ranked[1].burst_match, 0.3));
}

#[test]
fn bursty_light_load_prefers_cheap_burstable() {
    // avg 10 %, p95 120 %, 2 threads, bursty: required 1.5 vCPUs.
    // t3.medium and t3.large: capacity 0.75, thread 1, burst min(1, 0.4 / 0.1) = 1
    // → 0.875 each, so the tie goes to more vCPUs per dollar:
    // t3.medium 2 / 0.0416 ≈ 48.1, t3.large 2 / 0.0832 ≈ 24.0.
    // c5.large: capacity 0.75, thread 1, burst 0.75 → 0.8125.
    let workload = WorkloadProfile {
        avg_cpu_percent: 10.0,
        p95_cpu_percent: 120.0,
        threads: 2,
        bursty: true,
    };

    let ranked = rank(&Catalog::builtin(), &workload, 3).unwrap();

    assert_eq!(names(&ranked), vec!["t3.medium", "t3.large", "c5.large"]);
    assert!(close(ranked[0].score, 0.875));
    assert!(close(ranked[1].score, 0.875));
    assert!(close(ranked[2].score, 0.8125));
}

#[test]
fn heavy_parallel_load_prefers_large_type() {
    // avg 900 %, p95 1200 %, 16 threads, sustained: required 15 vCPUs.
    // c5.4xlarge: capacity 15 / 16 = 0.9375, thread 1, burst 1 → 0.96875.
    // c5.2xlarge: capacity 8 / 15, thread 0.5, burst 1 → 0.5 × 0.5333… + 0.125 + 0.25 ≈ 0.641667.
    // c5.xlarge: capacity 4 / 15, thread 0.25, burst 1 → ≈ 0.445833, above
    // t3.xlarge (burst 0.5 × 1.6 / 9, ≈ 0.218056) and c5.large (≈ 0.348125).
    let workload = WorkloadProfile {
        avg_cpu_percent: 900.0,
        p95_cpu_percent: 1200.0,
        threads: 16,
        bursty: false,
    };

    let ranked = rank(&Catalog::builtin(), &workload, 3).unwrap();

    assert_eq!(
        names(&ranked),
        vec!["c5.4xlarge", "c5.2xlarge", "c5.xlarge"]
    );
    assert!(close(ranked[0].score, 0.96875));
    assert!(close(ranked[1].score, 0.5 * 8.0 / 15.0 + 0.125 + 0.25));
    assert!(close(ranked[2].score, 0.5 * 4.0 / 15.0 + 0.0625 + 0.25));
}

#[test]
fn ranking_returns_requested_count() {
    let workload = WorkloadProfile {
        avg_cpu_percent: 50.0,
        p95_cpu_percent: 80.0,
        threads: 1,
        bursty: false,
    };

    assert_eq!(rank(&Catalog::builtin(), &workload, 3).unwrap().len(), 3);
    assert_eq!(rank(&Catalog::builtin(), &workload, 10).unwrap().len(), 7);
}

#[test]
fn average_above_p95_is_rejected() {
    let workload = WorkloadProfile {
        avg_cpu_percent: 200.0,
        p95_cpu_percent: 150.0,
        threads: 2,
        bursty: false,
    };

    let error = rank(&Catalog::builtin(), &workload, 3).unwrap_err();

    assert!(matches!(error, SizingError::InvalidWorkload { .. }));
    assert!(error.to_string().contains("200"), "{error}");
}

#[test]
fn zero_threads_is_rejected() {
    let workload = WorkloadProfile {
        avg_cpu_percent: 10.0,
        p95_cpu_percent: 20.0,
        threads: 0,
        bursty: false,
    };

    assert!(rank(&Catalog::builtin(), &workload, 3).is_err());
}

#[test]
fn custom_catalog_is_ranked() {
    let text = r#"
        [[instance]]
        name = "small"
        vcpus = 1
        price_per_hour_usd = 0.01

        [[instance]]
        name = "big"
        vcpus = 64
        price_per_hour_usd = 2.0
    "#;
    let catalog = Catalog::from_toml(text).unwrap();
    let workload = WorkloadProfile {
        avg_cpu_percent: 40.0,
        p95_cpu_percent: 80.0,
        threads: 1,
        bursty: false,
    };

    let ranked = rank(&catalog, &workload, 3).unwrap();

    // Required 1 vCPU: "small" matches exactly and scores 1.
    assert_eq!(names(&ranked), vec!["small", "big"]);
    assert!(close(ranked[0].score, 1.0));
}
