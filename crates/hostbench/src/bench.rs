//! Running the four phases: sequential write, sequential read, random read,
//! random write.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::config::{BenchConfig, CacheMode, RANDOM_BLOCK_BYTES};
use crate::error::BenchError;
use crate::report::{BenchReport, CacheBypass, PhaseResult};
use crate::test_file::{AlignedBuffer, TestFile, free_space_bytes, io_error, is_memory_backed};

/// Highest latency the histograms record: 60 s, in nanoseconds. Slower
/// operations are recorded as 60 s.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// Runs the benchmark in `config.dir` and removes its test file before returning.
///
/// `cancel` is checked before each operation. Once it is set, the run stops,
/// removes its file and returns [`BenchError::Interrupted`].
///
/// # Errors
/// [`BenchError::InvalidConfig`] and [`BenchError::DirectoryNotFound`] before
/// anything is written, [`BenchError::InsufficientSpace`] when the file system
/// has less free space than `size_bytes`, [`BenchError::Io`] when a file
/// operation fails, and [`BenchError::Interrupted`].
pub fn run(config: &BenchConfig, cancel: &AtomicBool) -> Result<BenchReport, BenchError> {
    config.validate()?;
    let free_bytes = free_space_bytes(&config.dir)?;
    if free_bytes < config.size_bytes {
        return Err(BenchError::InsufficientSpace {
            dir: config.dir.clone(),
            free_bytes,
            needed_bytes: config.size_bytes,
        });
    }

    let memory_backed = is_memory_backed(&config.dir)?;
    if memory_backed {
        tracing::warn!(dir = %config.dir.display(), "the directory is on tmpfs or ramfs: figures measure memory");
    }

    let mut rng = SmallRng::seed_from_u64(config.seed);
    let (test_file, file) = TestFile::create(&config.dir)?;
    tracing::info!(path = %test_file.path().display(), size_bytes = config.size_bytes, "io-bench started");

    let sequential_write = sequential_write(config, &test_file, &file, &mut rng, cancel)?;
    drop(file);

    let (bypass, reader) = bypass_cache(config.cache_mode, &test_file)?;
    tracing::info!(bypass = bypass.describe(), "page cache handling chosen");
    let sequential_read = sequential_read(config, &test_file, &reader, cancel)?;

    if bypass == CacheBypass::FadviseDontNeed {
        evict_file_pages(&test_file, &reader)?;
    }
    let random_read = random_read(config, &test_file, &reader, &mut rng, cancel)?;
    let random_write = random_write(config, &test_file, &reader, &mut rng, cancel)?;

    Ok(BenchReport {
        dir: config.dir.display().to_string(),
        size_bytes: config.size_bytes,
        block_bytes: config.block_bytes,
        random_block_bytes: RANDOM_BLOCK_BYTES as u64,
        cache_bypass: bypass,
        memory_backed,
        sequential_write,
        sequential_read,
        random_read,
        random_write,
    })
}

fn sequential_write(
    config: &BenchConfig,
    test_file: &TestFile,
    file: &File,
    rng: &mut SmallRng,
    cancel: &AtomicBool,
) -> Result<PhaseResult, BenchError> {
    let block = config.block_bytes as usize;
    let mut buffer = AlignedBuffer::new(block);
    // Random data, so that a compressing or deduplicating file system cannot shortcut the writes.
    rng.fill(buffer.as_mut_slice());
    let mut latencies = histogram();

    let started = Instant::now();
    for offset in (0..config.size_bytes).step_by(block) {
        check(cancel)?;
        let op_started = Instant::now();
        file.write_all_at(buffer.as_slice(), offset)
            .map_err(|source| io_error("write", test_file.path(), source))?;
        latencies.saturating_record(elapsed_ns(op_started));
    }
    file.sync_all()
        .map_err(|source| io_error("fsync", test_file.path(), source))?;
    let elapsed_s = started.elapsed().as_secs_f64();

    Ok(PhaseResult::new(
        "sequential_write",
        config.size_bytes,
        elapsed_s,
        &latencies,
    ))
}

fn sequential_read(
    config: &BenchConfig,
    test_file: &TestFile,
    file: &File,
    cancel: &AtomicBool,
) -> Result<PhaseResult, BenchError> {
    let block = config.block_bytes as usize;
    let mut buffer = AlignedBuffer::new(block);
    let mut latencies = histogram();

    let started = Instant::now();
    for offset in (0..config.size_bytes).step_by(block) {
        check(cancel)?;
        let op_started = Instant::now();
        file.read_exact_at(buffer.as_mut_slice(), offset)
            .map_err(|source| io_error("read", test_file.path(), source))?;
        latencies.saturating_record(elapsed_ns(op_started));
    }
    let elapsed_s = started.elapsed().as_secs_f64();

    Ok(PhaseResult::new(
        "sequential_read",
        config.size_bytes,
        elapsed_s,
        &latencies,
    ))
}

fn random_read(
    config: &BenchConfig,
    test_file: &TestFile,
    file: &File,
    rng: &mut SmallRng,
    cancel: &AtomicBool,
) -> Result<PhaseResult, BenchError> {
    let mut buffer = AlignedBuffer::new(RANDOM_BLOCK_BYTES);
    let mut latencies = histogram();

    let started = Instant::now();
    for _ in 0..config.random_ops {
        check(cancel)?;
        let offset = random_offset(config, rng);
        let op_started = Instant::now();
        file.read_exact_at(buffer.as_mut_slice(), offset)
            .map_err(|source| io_error("read", test_file.path(), source))?;
        latencies.saturating_record(elapsed_ns(op_started));
    }
    let elapsed_s = started.elapsed().as_secs_f64();

    let bytes = config.random_ops * RANDOM_BLOCK_BYTES as u64;
    Ok(PhaseResult::new(
        "random_read",
        bytes,
        elapsed_s,
        &latencies,
    ))
}

fn random_write(
    config: &BenchConfig,
    test_file: &TestFile,
    file: &File,
    rng: &mut SmallRng,
    cancel: &AtomicBool,
) -> Result<PhaseResult, BenchError> {
    let mut buffer = AlignedBuffer::new(RANDOM_BLOCK_BYTES);
    rng.fill(buffer.as_mut_slice());
    let mut latencies = histogram();

    let started = Instant::now();
    for _ in 0..config.random_ops {
        check(cancel)?;
        let offset = random_offset(config, rng);
        let op_started = Instant::now();
        file.write_all_at(buffer.as_slice(), offset)
            .map_err(|source| io_error("write", test_file.path(), source))?;
        latencies.saturating_record(elapsed_ns(op_started));
    }
    file.sync_all()
        .map_err(|source| io_error("fsync", test_file.path(), source))?;
    let elapsed_s = started.elapsed().as_secs_f64();

    let bytes = config.random_ops * RANDOM_BLOCK_BYTES as u64;
    Ok(PhaseResult::new(
        "random_write",
        bytes,
        elapsed_s,
        &latencies,
    ))
}

/// Opens the file for the read phases so that they reach the device, and
/// returns the way used. The file was written and fsynced before this.
fn bypass_cache(mode: CacheMode, test_file: &TestFile) -> Result<(CacheBypass, File), BenchError> {
    match mode {
        CacheMode::Direct => Ok((CacheBypass::DirectIo, test_file.open(true)?)),
        CacheMode::DropCaches => {
            drop_page_cache()
                .map_err(|source| io_error("write", "/proc/sys/vm/drop_caches".as_ref(), source))?;
            Ok((CacheBypass::DroppedPageCache, test_file.open(false)?))
        }
        CacheMode::Fadvise => {
            let file = test_file.open(false)?;
            evict_file_pages(test_file, &file)?;
            Ok((CacheBypass::FadviseDontNeed, file))
        }
        CacheMode::None => Ok((CacheBypass::None, test_file.open(false)?)),
        CacheMode::Auto => auto_bypass(test_file),
    }
}

/// `O_DIRECT` first, because it affects only this file and matches `fio
/// --direct=1`. Dropping the host's whole page cache comes next, and
/// `posix_fadvise` last.
fn auto_bypass(test_file: &TestFile) -> Result<(CacheBypass, File), BenchError> {
    match test_file.open(true) {
        Ok(file) => return Ok((CacheBypass::DirectIo, file)),
        Err(BenchError::Io { source, .. }) if source.kind() == ErrorKind::InvalidInput => {
            tracing::info!("the file system does not support O_DIRECT; trying the next way");
        }
        Err(error) => return Err(error),
    }

    if drop_page_cache().is_ok() {
        return Ok((CacheBypass::DroppedPageCache, test_file.open(false)?));
    }

    let file = test_file.open(false)?;
    match evict_file_pages(test_file, &file) {
        Ok(()) => Ok((CacheBypass::FadviseDontNeed, file)),
        Err(error) => {
            tracing::warn!(%error, "could not evict cached pages; reads may come from memory");
            Ok((CacheBypass::None, file))
        }
    }
}

/// Writes `1` (page cache only) to `/proc/sys/vm/drop_caches`, which only root may do.
fn drop_page_cache() -> std::io::Result<()> {
    std::fs::write("/proc/sys/vm/drop_caches", b"1")
}

/// Evicts the file's clean pages from the page cache.
fn evict_file_pages(test_file: &TestFile, file: &File) -> Result<(), BenchError> {
    // SAFETY: the descriptor belongs to `file`, which outlives the call.
    let status = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if status != 0 {
        return Err(io_error(
            "posix_fadvise",
            test_file.path(),
            std::io::Error::from_raw_os_error(status),
        ));
    }
    Ok(())
}

/// Picks a random 4 KiB-aligned offset at which a 4 KiB block fits in the file.
fn random_offset(config: &BenchConfig, rng: &mut SmallRng) -> u64 {
    let blocks = config.size_bytes / RANDOM_BLOCK_BYTES as u64;
    rng.random_range(0..blocks) * RANDOM_BLOCK_BYTES as u64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("bounds 1 ns to 60 s are valid")
}

fn elapsed_ns(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn check(cancel: &AtomicBool) -> Result<(), BenchError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(BenchError::Interrupted);
    }
    Ok(())
}
