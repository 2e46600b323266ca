//! The phases of a run: an optional warm-up, then one measured window per
//! arrival rate.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::PlanError;

/// Whether a phase's requests count in the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Traffic that fills connections and queues; its figures are discarded.
    Warmup,
    /// A measurement window whose figures are reported.
    Measured,
}

/// One stretch of the run at a constant Poisson arrival rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Whether the phase is reported.
    pub kind: PhaseKind,
    /// Target arrival rate λ, in requests per second.
    pub rate_per_s: f64,
    /// Length of the phase. Requests scheduled in it belong to it, even when
    /// their replies arrive after it ends.
    pub duration: Duration,
}

/// The ordered phases of a run, back to back on one timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    phases: Vec<Phase>,
}

impl Plan {
    /// Builds a warm-up at the first rate (skipped when `warmup` is 0), then
    /// one measured window of `window` per rate, in the given order.
    ///
    /// # Errors
    /// [`PlanError::InvalidRate`] when `rates` is empty or contains a rate that
    /// is not above 0, and [`PlanError::ZeroDuration`] when `window` is 0.
    pub fn new(rates: &[f64], warmup: Duration, window: Duration) -> Result<Self, PlanError> {
        let Some(&first_rate) = rates.first() else {
            return Err(PlanError::InvalidRate { rate_per_s: 0.0 });
        };
        if let Some(&bad) = rates
            .iter()
            .find(|rate| !(rate.is_finite() && **rate > 0.0))
        {
            return Err(PlanError::InvalidRate { rate_per_s: bad });
        }
        if window.is_zero() {
            return Err(PlanError::ZeroDuration {
                setting: "window duration",
            });
        }

        let mut phases = Vec::with_capacity(rates.len() + 1);
        if !warmup.is_zero() {
            phases.push(Phase {
                kind: PhaseKind::Warmup,
                rate_per_s: first_rate,
                duration: warmup,
            });
        }
        phases.extend(rates.iter().map(|&rate_per_s| Phase {
            kind: PhaseKind::Measured,
            rate_per_s,
            duration: window,
        }));

        Ok(Self { phases })
    }

    /// Returns the phases in run order.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// Returns the scheduled length of the whole run, without the time to
    /// wait for the last replies.
    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|phase| phase.duration).sum()
    }
}

/// Parses one rate (`1000`) or a comma-separated list of rates
/// (`500,1000,1500`), in requests per second.
///
/// # Errors
/// [`PlanError::UnparsableRate`] for text that is not a number and
/// [`PlanError::InvalidRate`] for a rate that is not above 0.
pub fn parse_rates(text: &str) -> Result<Vec<f64>, PlanError> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let rate_per_s: f64 = part.parse().map_err(|_| PlanError::UnparsableRate {
                text: part.to_owned(),
            })?;
            if rate_per_s.is_finite() && rate_per_s > 0.0 {
                Ok(rate_per_s)
            } else {
                Err(PlanError::InvalidRate { rate_per_s })
            }
        })
        .collect()
}

/// Parses a duration with a unit, such as `500ms`, `30s`, `2m` or `1m 30s`
/// (the humantime format).
///
/// # Errors
/// [`PlanError::UnparsableDuration`] for text without a known unit.
pub fn parse_duration(text: &str) -> Result<Duration, PlanError> {
    humantime::parse_duration(text.trim()).map_err(|_| PlanError::UnparsableDuration {
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rates_accepts_a_list() {
        assert_eq!(
            parse_rates("500, 1000,1500").unwrap(),
            [500.0, 1000.0, 1500.0]
        );
        assert_eq!(parse_rates("2.5").unwrap(), [2.5]);
    }

    #[test]
    fn parse_rates_rejects_bad_values() {
        assert!(matches!(
            parse_rates("0"),
            Err(PlanError::InvalidRate { .. })
        ));
        assert!(matches!(
            parse_rates("-5"),
            Err(PlanError::InvalidRate { .. })
        ));
        assert!(matches!(
            parse_rates("500,fast"),
            Err(PlanError::UnparsableRate { text }) if text == "fast"
        ));
        assert!(matches!(
            parse_rates(""),
            Err(PlanError::UnparsableRate { .. })
        ));
    }

    #[test]
    fn parse_duration_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn plan_warmup_then_windows() {
        let plan = Plan::new(
            &[500.0, 1000.0],
            Duration::from_secs(5),
            Duration::from_secs(30),
        )
        .unwrap();

        let kinds: Vec<_> = plan.phases().iter().map(|phase| phase.kind).collect();
        assert_eq!(
            kinds,
            [PhaseKind::Warmup, PhaseKind::Measured, PhaseKind::Measured]
        );
        assert_eq!(plan.phases()[0].rate_per_s, 500.0);
        assert_eq!(plan.phases()[2].rate_per_s, 1000.0);
        assert_eq!(plan.duration(), Duration::from_secs(65));
    }

    #[test]
    fn plan_without_warmup() {
        let plan = Plan::new(&[100.0], Duration::ZERO, Duration::from_secs(1)).unwrap();

        assert_eq!(plan.phases().len(), 1);
        assert_eq!(plan.phases()[0].kind, PhaseKind::Measured);
    }

    #[test]
    fn plan_rejects_zero_window() {
        assert!(matches!(
            Plan::new(&[100.0], Duration::ZERO, Duration::ZERO),
            Err(PlanError::ZeroDuration { .. })
        ));
    }
}
