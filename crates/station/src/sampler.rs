//! Service-time distributions and their sampling.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma};

use crate::error::ConfigError;

/// The maximum service time a station draws, and the maximum mean it
/// accepts: 1 hour.
pub const MAX_SERVICE_TIME: Duration = Duration::from_secs(3600);

/// The distribution that a station draws each service time from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTimeDistribution {
    /// Exponential with the given mean, in seconds (squared coefficient of
    /// variation 1): the M in M/M/c.
    Exponential {
        /// Mean service time 1/μ, in seconds.
        mean_s: f64,
    },
    /// Every service takes exactly the given time, in seconds (SCV 0).
    Deterministic {
        /// Service time, in seconds.
        value_s: f64,
    },
    /// Gamma with the given mean and squared coefficient of variation
    /// (shape 1/scv, scale mean·scv).
    Gamma {
        /// Mean service time, in seconds.
        mean_s: f64,
        /// Squared coefficient of variation, variance / mean², > 0.
        scv: f64,
    },
}

impl ServiceTimeDistribution {
    /// Returns the mean service time, in seconds.
    pub fn mean_s(&self) -> f64 {
        match *self {
            Self::Exponential { mean_s } | Self::Gamma { mean_s, .. } => mean_s,
            Self::Deterministic { value_s } => value_s,
        }
    }

    /// Returns the squared coefficient of variation (variance / mean²).
    pub fn scv(&self) -> f64 {
        match *self {
            Self::Exponential { .. } => 1.0,
            Self::Deterministic { .. } => 0.0,
            Self::Gamma { scv, .. } => scv,
        }
    }
}

/// Draws service times from one [`ServiceTimeDistribution`].
#[derive(Debug, Clone)]
pub(crate) enum ServiceSampler {
    Exponential(Exp<f64>),
    Deterministic(Duration),
    Gamma(Gamma<f64>),
}

impl ServiceSampler {
    /// Checks the parameters and builds the sampler.
    ///
    /// # Errors
    /// [`ConfigError::InvalidDistribution`] when a mean is not finite and
    /// positive, or a Gamma SCV is not finite and positive.
    pub(crate) fn new(
        station: &str,
        distribution: ServiceTimeDistribution,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidDistribution {
            station: station.to_owned(),
            distribution,
            reason: reason.to_owned(),
        };

        let mean_s = distribution.mean_s();
        if !(mean_s.is_finite() && mean_s > 0.0) {
            return Err(invalid("the mean service time must be finite and > 0 s"));
        }
        if mean_s > MAX_SERVICE_TIME.as_secs_f64() {
            return Err(invalid(
                "the mean service time must be at most 1 hour (a service rate of at least 1/3600 per second)",
            ));
        }

        match distribution {
            ServiceTimeDistribution::Exponential { mean_s } => Exp::new(1.0 / mean_s)
                .map(Self::Exponential)
                .map_err(|_| invalid("the service rate 1/mean must be finite and > 0")),
            ServiceTimeDistribution::Deterministic { value_s } => {
                Ok(Self::Deterministic(Duration::from_secs_f64(value_s)))
            }
            ServiceTimeDistribution::Gamma { mean_s, scv } => {
                if !(scv.is_finite() && scv > 0.0) {
                    return Err(invalid(
                        "the Gamma SCV must be finite and > 0 (use Deterministic for 0)",
                    ));
                }
                Gamma::new(1.0 / scv, mean_s * scv)
                    .map(Self::Gamma)
                    .map_err(|_| invalid("Gamma shape 1/scv and scale mean·scv must be > 0"))
            }
        }
    }

    /// Draws one service time, at most [`MAX_SERVICE_TIME`].
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let seconds = match self {
            Self::Exponential(exp) => exp.sample(rng),
            Self::Deterministic(value) => return *value,
            Self::Gamma(gamma) => gamma.sample(rng),
        };
        // The cap keeps the hold's end a valid Instant. For an exponential of
        // mean 1 s, it cuts a tail of probability e^-3600.
        Duration::try_from_secs_f64(seconds)
            .unwrap_or(MAX_SERVICE_TIME)
            .min(MAX_SERVICE_TIME)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// Returns the sample mean and SCV of `count` draws, in seconds.
    fn moments(distribution: ServiceTimeDistribution, count: usize) -> (f64, f64) {
        let sampler = ServiceSampler::new("test", distribution).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let draws: Vec<f64> = (0..count)
            .map(|_| sampler.sample(&mut rng).as_secs_f64())
            .collect();
        let mean = draws.iter().sum::<f64>() / count as f64;
        let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / count as f64;
        (mean, variance / (mean * mean))
    }

    #[test]
    fn exponential_mean_and_scv() {
        // 100 000 draws: the standard error of the mean is 1/sqrt(1e5) = 0.3 %
        // of the mean, and of the SCV about 2 %.
        let (mean, scv) = moments(
            ServiceTimeDistribution::Exponential { mean_s: 0.001 },
            100_000,
        );
        assert!((mean - 0.001).abs() < 0.001 * 0.015, "mean {mean}");
        assert!((scv - 1.0).abs() < 0.1, "scv {scv}");
    }

    #[test]
    fn gamma_mean_and_scv() {
        let (mean, scv) = moments(
            ServiceTimeDistribution::Gamma {
                mean_s: 0.002,
                scv: 0.25,
            },
            100_000,
        );
        assert!((mean - 0.002).abs() < 0.002 * 0.01, "mean {mean}");
        assert!((scv - 0.25).abs() < 0.025, "scv {scv}");
    }

    #[test]
    fn deterministic_is_constant() {
        let (mean, scv) = moments(
            ServiceTimeDistribution::Deterministic { value_s: 0.0005 },
            100,
        );
        assert!((mean - 0.0005).abs() < 1e-9, "mean {mean}");
        assert!(scv < 1e-9, "scv {scv}");
    }

    #[test]
    fn sampler_rejects_mean_above_an_hour() {
        let result = ServiceSampler::new(
            "user",
            ServiceTimeDistribution::Deterministic { value_s: 7200.0 },
        );
        let Err(error) = result else {
            panic!("a 2-hour service time was accepted");
        };
        assert!(error.to_string().contains("at most 1 hour"), "{error}");
    }

    #[test]
    fn sampler_rejects_zero_mean() {
        let result =
            ServiceSampler::new("user", ServiceTimeDistribution::Exponential { mean_s: 0.0 });
        assert!(matches!(
            result,
            Err(ConfigError::InvalidDistribution { .. })
        ));
    }

    #[test]
    fn sampler_rejects_negative_scv() {
        let distribution = ServiceTimeDistribution::Gamma {
            mean_s: 0.001,
            scv: -1.0,
        };
        let result = ServiceSampler::new("user", distribution);
        assert!(matches!(
            result,
            Err(ConfigError::InvalidDistribution { .. })
        ));
    }
}
