//! Benchmark settings: directory, sizes and the way past the page cache.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// Size of each random read and write, and the alignment that `O_DIRECT` needs.
pub const RANDOM_BLOCK_BYTES: usize = 4096;

/// Requested way for the read phases to avoid reading back cached pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// `O_DIRECT` where the file system supports it, else drop the page cache
    /// (root only), else `posix_fadvise(DONTNEED)`, else read through the cache.
    Auto,
    /// Open the file with `O_DIRECT` for the read phases and random writes.
    Direct,
    /// Write `1` to `/proc/sys/vm/drop_caches` after `fsync`. Only root may,
    /// and it empties the page cache of the whole host.
    DropCaches,
    /// Ask the kernel to evict this file's clean pages with `posix_fadvise(DONTNEED)`.
    Fadvise,
    /// Read through the page cache: measures memory, not the device.
    None,
}

/// Settings of one benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Directory for the test file, which must exist and have room for it.
    pub dir: PathBuf,
    /// Size of the test file in bytes, a multiple of `block_bytes`.
    pub size_bytes: u64,
    /// Block size of the sequential phases in bytes, a multiple of 4096.
    pub block_bytes: u64,
    /// Number of random 4 KiB reads, and of random 4 KiB writes.
    pub random_ops: u64,
    /// Way for the reads to avoid the page cache.
    pub cache_mode: CacheMode,
    /// Seed of the random offsets and of the data written.
    pub seed: u64,
}

impl BenchConfig {
    /// Default file size: 256 MiB.
    pub const DEFAULT_SIZE_BYTES: u64 = 256 * 1024 * 1024;
    /// Default sequential block: 64 KiB.
    pub const DEFAULT_BLOCK_BYTES: u64 = 64 * 1024;
    /// Default number of random operations of each kind.
    pub const DEFAULT_RANDOM_OPS: u64 = 2000;

    /// Creates a configuration with the defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            size_bytes: Self::DEFAULT_SIZE_BYTES,
            block_bytes: Self::DEFAULT_BLOCK_BYTES,
            random_ops: Self::DEFAULT_RANDOM_OPS,
            cache_mode: CacheMode::Auto,
            seed: 1,
        }
    }

    /// Checks the sizes and counts.
    ///
    /// # Errors
    /// [`BenchError::InvalidConfig`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), BenchError> {
        let invalid = |field, value, expected| BenchError::InvalidConfig {
            field,
            value,
            expected,
        };
        let alignment = RANDOM_BLOCK_BYTES as u64;

        if self.block_bytes == 0 || !self.block_bytes.is_multiple_of(alignment) {
            return Err(invalid(
                "block size",
                self.block_bytes,
                "must be a positive multiple of 4096 bytes (4KiB, 64KiB, 1MiB)",
            ));
        }
        if self.size_bytes < self.block_bytes || !self.size_bytes.is_multiple_of(self.block_bytes) {
            return Err(invalid(
                "file size",
                self.size_bytes,
                "must be a positive multiple of the block size",
            ));
        }
        if self.random_ops == 0 {
            return Err(invalid("random operation count", 0, "must be at least 1"));
        }
        Ok(())
    }
}
