//! The benchmark on a small file in a temporary directory.

use std::sync::atomic::AtomicBool;

use queuelab_hostbench::{
    BenchConfig, BenchError, CacheMode, free_space_bytes, is_memory_backed, run,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

fn small_config(dir: &std::path::Path) -> BenchConfig {
    BenchConfig {
        size_bytes: 4 * MIB,
        block_bytes: 64 * KIB,
        random_ops: 64,
        ..BenchConfig::new(dir)
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn small_run_reports_every_phase() {
    let dir = tempfile::tempdir().unwrap();

    let report = run(&small_config(dir.path()), &AtomicBool::new(false)).unwrap();

    // 4 MiB in 64 KiB blocks is 64 operations each way.
    assert_eq!(report.sequential_write.operations, 64);
    assert_eq!(report.sequential_write.bytes, 4 * MIB);
    assert_eq!(report.sequential_read.operations, 64);
    assert_eq!(report.random_read.operations, 64);
    assert_eq!(report.random_read.bytes, 64 * 4096);
    assert_eq!(report.random_write.operations, 64);
    for phase in [
        &report.sequential_write,
        &report.sequential_read,
        &report.random_read,
        &report.random_write,
    ] {
        assert!(phase.elapsed_s > 0.0, "{} elapsed", phase.name);
        assert!(phase.latency_p50_s > 0.0, "{} p50", phase.name);
        assert!(
            phase.latency_p50_s <= phase.latency_p99_s,
            "{} p50 ≤ p99",
            phase.name
        );
        assert!(
            phase.latency_p99_s <= phase.latency_max_s * 1.001,
            "{} p99 ≤ max",
            phase.name
        );
    }
}

#[test]
fn test_file_is_removed_after_run() {
    let dir = tempfile::tempdir().unwrap();

    run(&small_config(dir.path()), &AtomicBool::new(false)).unwrap();

    assert_eq!(files_in(dir.path()), 0);
}

#[test]
fn cancelled_run_removes_file() {
    let dir = tempfile::tempdir().unwrap();

    let error = run(&small_config(dir.path()), &AtomicBool::new(true)).unwrap_err();

    assert!(matches!(error, BenchError::Interrupted), "{error}");
    assert_eq!(files_in(dir.path()), 0);
}

#[test]
fn size_above_free_space_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let free = free_space_bytes(dir.path()).unwrap();
    // A multiple of the 64 KiB block, larger than the free space.
    let needed = (free / (64 * KIB) + 1) * 64 * KIB;
    let config = BenchConfig {
        size_bytes: needed,
        ..small_config(dir.path())
    };

    let error = run(&config, &AtomicBool::new(false)).unwrap_err();

    match &error {
        BenchError::InsufficientSpace {
            free_bytes,
            needed_bytes,
            ..
        } => {
            assert_eq!(*needed_bytes, needed);
            assert!(*free_bytes < needed);
        }
        other => panic!("expected InsufficientSpace, got {other}"),
    }
    assert!(error.to_string().contains(&needed.to_string()), "{error}");
    assert_eq!(files_in(dir.path()), 0);
}

#[test]
fn missing_directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");

    let error = run(&small_config(&missing), &AtomicBool::new(false)).unwrap_err();

    assert!(
        matches!(error, BenchError::DirectoryNotFound { .. }),
        "{error}"
    );
}

#[test]
fn unaligned_block_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = BenchConfig {
        block_bytes: 1000,
        ..small_config(dir.path())
    };

    let error = run(&config, &AtomicBool::new(false)).unwrap_err();

    assert!(error.to_string().contains("multiple of 4096"), "{error}");
}

#[test]
fn size_not_multiple_of_block_is_rejected() {
    let config = BenchConfig {
        size_bytes: 100 * KIB,
        block_bytes: 64 * KIB,
        ..BenchConfig::new(".")
    };

    assert!(matches!(
        config.validate(),
        Err(BenchError::InvalidConfig {
            field: "file size",
            ..
        })
    ));
}

#[test]
fn buffered_mode_says_reads_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let config = BenchConfig {
        cache_mode: CacheMode::None,
        ..small_config(dir.path())
    };

    let report = run(&config, &AtomicBool::new(false)).unwrap();

    assert_eq!(report.cache_bypass, queuelab_hostbench::CacheBypass::None);
}

#[test]
fn fadvise_mode_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = BenchConfig {
        cache_mode: CacheMode::Fadvise,
        ..small_config(dir.path())
    };

    let report = run(&config, &AtomicBool::new(false)).unwrap();

    assert_eq!(
        report.cache_bypass,
        queuelab_hostbench::CacheBypass::FadviseDontNeed
    );
}

#[test]
fn memory_backed_directory_is_flagged() {
    // /dev/shm is tmpfs on Linux; skip where it is missing.
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("skipped: /dev/shm not found");
        return;
    }

    assert!(is_memory_backed(shm).unwrap());
}

#[test]
fn temp_run_reports_backing() {
    let dir = tempfile::tempdir().unwrap();
    let expected = is_memory_backed(dir.path()).unwrap();

    let report = run(&small_config(dir.path()), &AtomicBool::new(false)).unwrap();

    assert_eq!(report.memory_backed, expected);
}
