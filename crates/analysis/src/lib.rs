//! Measured figures set beside the queueing model's predictions.
//!
//! - [`measurement`]: what stations and the load generator send, and the
//!   checks on their serialized histograms.
//! - [`compare`](compare()): the comparison, station by station and end to end.
//! - [`report`]: the report, whose JSON keys follow `queuelab model --json`.
//! - [`render`]: the terminal table and the self-contained HTML page with SVG plots.

#![warn(missing_docs)]

mod compare;
pub mod measurement;
pub mod render;
pub mod report;

pub use compare::{AnalysisError, compare, predicted_sweep, spectrum_levels, status_name};
pub use measurement::{
    CallMeasurement, HistogramError, LoadMeasurement, MAX_HISTOGRAM_BYTES, StationInput,
    StationMeasurement, decode_histogram,
};
pub use report::Report;
