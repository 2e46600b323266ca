//! The report of one window: summary, fired indicators and the limits used.

use serde::{Deserialize, Serialize};

use crate::indicators::{Indicator, evaluate};
use crate::sample::Sample;
use crate::summary::{Summary, summarize};
use crate::thresholds::Thresholds;

/// Agent report of one window. It serialises with SI units (bytes, seconds,
/// bytes per second), CPU in percent and shares as ratios from 0 to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// The figures of the window.
    pub summary: Summary,
    /// Indicators that fired, most severe first.
    pub indicators: Vec<Indicator>,
    /// The limits the indicators were evaluated against.
    pub thresholds: Thresholds,
    /// Samples pushed out of a full window before the report. Non-zero means
    /// the summary covers only the most recent part of the window.
    pub dropped_samples: u64,
}

impl AgentReport {
    /// Summarises `samples` and evaluates the indicators, or returns `None` without samples.
    pub fn from_samples(
        samples: &[Sample],
        thresholds: &Thresholds,
        dropped_samples: u64,
    ) -> Option<Self> {
        let summary = summarize(samples)?;
        let indicators = evaluate(&summary, thresholds);
        Some(Self {
            summary,
            indicators,
            thresholds: thresholds.clone(),
            dropped_samples,
        })
    }
}
