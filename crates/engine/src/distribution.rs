//! Service-time distributions, described by their mean and shape.

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::validate::check_scv;

/// The shape of a service-time distribution; the mean is given separately.
///
/// The engine needs a distribution's mean, its squared coefficient of
/// variation (SCV, variance / mean²) and, for latency distributions, its
/// Laplace–Stieltjes transform.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceDistribution {
    /// Exponential service times (SCV 1): the "M" of M/M/c.
    #[default]
    Exponential,
    /// A constant service time (SCV 0): M/D/1 and M/D/c.
    Deterministic,
    /// A gamma distribution with the given SCV (shape 1/SCV). SCV 1/k is the
    /// Erlang-k distribution; SCV above 1 is more variable than exponential.
    Gamma {
        /// Squared coefficient of variation, greater than 0.
        scv: f64,
    },
}

impl ServiceDistribution {
    /// Builds a gamma distribution, checking that its SCV is finite and positive.
    pub fn gamma(scv: f64) -> Result<Self, ModelError> {
        check_scv(scv)?;
        if scv == 0.0 {
            return Err(ModelError::InvalidScv { value: scv });
        }
        Ok(ServiceDistribution::Gamma { scv })
    }

    /// Squared coefficient of variation: variance / mean².
    pub fn scv(&self) -> f64 {
        match *self {
            ServiceDistribution::Exponential => 1.0,
            ServiceDistribution::Deterministic => 0.0,
            ServiceDistribution::Gamma { scv } => scv,
        }
    }

    /// True for the exponential distribution.
    pub fn is_exponential(&self) -> bool {
        matches!(self, ServiceDistribution::Exponential)
    }

    /// Short name for reports: "exponential", "deterministic" or "gamma(scv=…)".
    pub fn label(&self) -> String {
        match *self {
            ServiceDistribution::Exponential => "exponential".to_owned(),
            ServiceDistribution::Deterministic => "deterministic".to_owned(),
            ServiceDistribution::Gamma { scv } => format!("gamma(scv={scv})"),
        }
    }

    /// Returns the Laplace–Stieltjes transform E[e^(−sS)] for a mean of `mean_s` seconds.
    pub fn transform(&self, mean_s: f64, s: Complex64) -> Complex64 {
        match *self {
            ServiceDistribution::Exponential => Complex64::new(1.0, 0.0) / (1.0 + s * mean_s),
            ServiceDistribution::Deterministic => (-s * mean_s).exp(),
            ServiceDistribution::Gamma { scv } => (1.0 + s * (mean_s * scv)).powf(-1.0 / scv),
        }
    }
}
