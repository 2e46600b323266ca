//! Quantiles from survival functions, and the standard set of quantiles.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// The quantiles every report shows: p50, p90, p95, p99 and p99.9, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Median, seconds.
    pub p50: f64,
    /// 90th percentile, seconds.
    pub p90: f64,
    /// 95th percentile, seconds.
    pub p95: f64,
    /// 99th percentile, seconds.
    pub p99: f64,
    /// 99.9th percentile, seconds.
    #[serde(rename = "p99_9")]
    pub p99_9: f64,
}

impl Quantiles {
    /// Computes the five standard quantiles with `quantile(q)`.
    pub fn from_fn(mut quantile: impl FnMut(f64) -> f64) -> Self {
        Quantiles {
            p50: quantile(0.5),
            p90: quantile(0.9),
            p95: quantile(0.95),
            p99: quantile(0.99),
            p99_9: quantile(0.999),
        }
    }
}

/// Checks that `q` is a quantile level in [0, 1).
pub(crate) fn check_level(q: f64) -> Result<(), ModelError> {
    if (0.0..1.0).contains(&q) {
        Ok(())
    } else {
        Err(ModelError::InvalidProbability {
            name: "quantile level",
            value: q,
            range: "[0, 1)",
        })
    }
}

/// Finds the smallest t ≥ 0 with `survival(t)` ≤ 1 − q, by bracketing and bisection.
///
/// `survival` must be non-increasing with survival(∞) = 0. `scale_s` is a
/// typical value of the variable (its mean, say) used to start the bracket.
/// The result is accurate to a relative 1e-12 or to 1e-15 s.
pub(crate) fn quantile_from_survival(survival: impl Fn(f64) -> f64, q: f64, scale_s: f64) -> f64 {
    quantile_with_tolerance(survival, q, scale_s, 1e-12)
}

/// Like [`quantile_from_survival`], to a given relative tolerance.
pub(crate) fn quantile_with_tolerance(
    survival: impl Fn(f64) -> f64,
    q: f64,
    scale_s: f64,
    relative_tolerance: f64,
) -> f64 {
    let tail = 1.0 - q;
    if survival(0.0) <= tail {
        return 0.0;
    }

    let mut low = 0.0;
    let mut high = scale_s.max(f64::MIN_POSITIVE);
    while survival(high) > tail {
        low = high;
        high *= 2.0;
        if !high.is_finite() {
            return f64::INFINITY;
        }
    }

    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if survival(middle) > tail {
            low = middle;
        } else {
            high = middle;
        }
        if high - low <= relative_tolerance * high || high - low <= 1e-15 {
            break;
        }
    }
    high
}
