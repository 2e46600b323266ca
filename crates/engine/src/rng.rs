//! A small seeded random generator for the network simulation.
//!
//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014) is fixed here so that a seed gives the same
//! simulation on every platform and every version of this crate.

use crate::distribution::ServiceDistribution;

/// The SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Draws a uniform number in [0, 1) with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Draws a uniform number in (0, 1], safe for logarithms.
    fn uniform_open(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Draws an exponential number with mean `mean`.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform_open().ln()
    }

    /// Draws a standard normal number (Box–Muller).
    fn normal(&mut self) -> f64 {
        let radius = (-2.0 * self.uniform_open().ln()).sqrt();
        radius * (2.0 * std::f64::consts::PI * self.uniform()).cos()
    }

    /// Draws a gamma number with the given shape and scale (Marsaglia–Tsang, 2000).
    fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            // Boost: Gamma(k) = Gamma(k + 1)·U^(1/k).
            let boosted = self.gamma(shape + 1.0, scale);
            return boosted * self.uniform_open().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform_open();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v * scale;
            }
        }
    }

    /// Draws a service time with the given distribution and mean.
    pub(crate) fn service_time(&mut self, distribution: ServiceDistribution, mean: f64) -> f64 {
        match distribution {
            ServiceDistribution::Exponential => self.exponential(mean),
            ServiceDistribution::Deterministic => mean,
            ServiceDistribution::Gamma { scv } => self.gamma(1.0 / scv, mean * scv),
        }
    }
}
