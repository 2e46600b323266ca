//! Errors of the file-system benchmark.

use std::path::PathBuf;

/// Errors from validating or running a benchmark. Each names the value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A size or count is out of range.
    #[error("invalid {field} {value}: {expected}")]
    InvalidConfig {
        /// Name of the setting, such as `block size`.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The valid range.
        expected: &'static str,
    },

    /// The benchmark directory does not exist or is not a directory.
    #[error("directory {dir} not found: create it or pass an existing directory")]
    DirectoryNotFound {
        /// The directory given.
        dir: PathBuf,
    },

    /// The file system lacks room for the test file.
    #[error(
        "not enough free space in {dir}: {free_bytes} bytes free, {needed_bytes} bytes needed; \
         pass a smaller size or another directory"
    )]
    InsufficientSpace {
        /// The directory given.
        dir: PathBuf,
        /// Bytes available to this user.
        free_bytes: u64,
        /// Bytes the test file needs.
        needed_bytes: u64,
    },

    /// A file operation failed.
    #[error("{operation} failed on {path}: {source}")]
    Io {
        /// Operation that failed, such as `fsync`.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The run was cancelled (Ctrl-C) before it finished, and its file was removed.
    #[error("benchmark interrupted; its test file was removed")]
    Interrupted,
}
