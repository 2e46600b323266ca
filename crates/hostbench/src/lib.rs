//! File-system benchmark: sequential write and read in blocks, then random
//! 4 KiB reads and writes, each with throughput, IOPS and latency percentiles.
//!
//! Reads straight after writing would measure the page cache, so the read
//! phases bypass it ([`CacheMode`]) and the report records how
//! ([`CacheBypass`]). The test file is removed on return, error and
//! cancellation alike.
//!
//! - [`config`]: sizes, directory and cache mode, with their checks.
//! - [`bench`]: the four phases.
//! - [`report`]: per-phase figures.
//! - [`test_file`]: the self-removing test file, aligned buffers and free space.
#![warn(missing_docs)]

pub mod bench;
pub mod config;
pub mod error;
pub mod report;
pub mod test_file;

pub use bench::run;
pub use config::{BenchConfig, CacheMode, RANDOM_BLOCK_BYTES};
pub use error::BenchError;
pub use report::{BenchReport, CacheBypass, PhaseResult};
pub use test_file::{free_space_bytes, is_memory_backed};
