//! Errors of the sizing inputs.

/// An invalid catalog or workload input. Each variant names the value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SizingError {
    /// The catalog file is not valid TOML or has unknown or missing fields.
    #[error("invalid instance catalog: {0}")]
    CatalogSyntax(#[from] toml::de::Error),

    /// The catalog lists no instance type.
    #[error("the instance catalog lists no instance type: add at least one [[instance]] table")]
    EmptyCatalog,

    /// An instance type has an impossible figure.
    #[error("instance type {name:?}: {detail}")]
    InvalidInstance {
        /// Name of the instance type.
        name: String,
        /// Problem and the valid range.
        detail: String,
    },

    /// A workload figure is out of range.
    #[error("invalid {field} {value}: {expected}")]
    InvalidWorkload {
        /// Name of the input, such as `p95 CPU %`.
        field: &'static str,
        /// The value given.
        value: f64,
        /// The valid range.
        expected: &'static str,
    },
}
