//! Summary statistics over the samples of one window.

use serde::{Deserialize, Serialize};

/// Mean, tail percentiles and maximum of one measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Arithmetic mean.
    pub avg: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Distribution {
    /// Summarises `values`, or returns `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let avg = mean(values)?;
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);

        Some(Self {
            avg,
            p95: nearest_rank(&sorted, 95.0),
            p99: nearest_rank(&sorted, 99.0),
            max: sorted[sorted.len() - 1],
        })
    }
}

/// Returns the arithmetic mean, or `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// Returns the population variance (divided by n, not n − 1), or `None` for an empty slice.
///
/// The values are all cores of one host, a whole population rather than a
/// sample of one.
pub fn population_variance(values: &[f64]) -> Option<f64> {
    let mean = mean(values)?;
    let squares: f64 = values.iter().map(|value| (value - mean).powi(2)).sum();
    Some(squares / values.len() as f64)
}

/// The `percent`-th percentile of sorted values by the nearest-rank method:
/// the smallest value with at least `percent` % of the values at or below it.
///
/// `sorted` must be non-empty and sorted ascending.
pub fn nearest_rank(sorted: &[f64], percent: f64) -> f64 {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Slope of the least-squares line through the points `(x, y)`, in units of
/// y per unit of x, or `None` with fewer than two distinct x.
///
/// A fitted slope uses every sample, so one outlier at either end of the
/// window moves it far less than (last − first) / duration would.
pub fn least_squares_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;

    let mut covariance = 0.0;
    let mut variance_x = 0.0;
    for (x, y) in points {
        covariance += (x - mean_x) * (y - mean_y);
        variance_x += (x - mean_x).powi(2);
    }

    if points.len() < 2 || variance_x == 0.0 {
        return None;
    }
    Some(covariance / variance_x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_twenty_values() {
        // 1..=20: p95 rank = ceil(0.95 × 20) = 19, p99 rank = ceil(19.8) = 20.
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let distribution = Distribution::of(&values).unwrap();

        assert_eq!(distribution.avg, 10.5);
        assert_eq!(distribution.p95, 19.0);
        assert_eq!(distribution.p99, 20.0);
        assert_eq!(distribution.max, 20.0);
    }

    #[test]
    fn distribution_of_nothing_is_none() {
        assert_eq!(Distribution::of(&[]), None);
    }

    #[test]
    fn variance_of_two_cores() {
        // Cores at 40 % and 60 %: mean 50, deviations ±10, variance 100.
        assert_eq!(population_variance(&[40.0, 60.0]), Some(100.0));
    }

    #[test]
    fn slope_ignores_endpoint_outlier() {
        // y = 2x + 1 on x = 0..=4 except the last point is 5 too high.
        // Fit by hand: mean x = 2, Σ(dx²) = 10, Σ(dx·dy) = 20 + 2 × 5 = 30, slope = 3.
        // The first/last difference would give (14 − 1) / 4 = 3.25.
        let points = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 14.0)];

        assert_eq!(least_squares_slope(&points), Some(3.0));
    }

    #[test]
    fn slope_needs_two_distinct_x() {
        assert_eq!(least_squares_slope(&[(1.0, 5.0)]), None);
        assert_eq!(least_squares_slope(&[(1.0, 5.0), (1.0, 6.0)]), None);
    }
}
