//! Errors from reading a topology file.

use std::path::PathBuf;

/// A topology file that cannot be used, with where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("failed to read topology file {path}: {source}")]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not TOML, or does not fit the format.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The file name, or `<reference>` for the built-in default.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Message of the TOML reader.
        message: String,
    },
    /// The file is valid TOML but describes an impossible system.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        /// The file name.
        origin: String,
        /// 1-based line of the offending value (1 when the whole file is at fault).
        line: usize,
        /// The problem and its fix.
        message: String,
    },
}
