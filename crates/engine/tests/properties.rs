//! Properties that hold for every valid input: Little's law and monotone quantiles.

use proptest::prelude::*;
use queuelab_engine::{Mg1, Mmc, Mmck, Outcome, ServiceDistribution};

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mmc_littles_law(servers in 1u64..200, utilization in 0.01f64..0.99, service_rate in 1.0f64..10_000.0) {
        let arrival_rate = utilization * servers as f64 * service_rate;
        let Outcome::Stable(queue) = Mmc::solve(arrival_rate, service_rate, servers).unwrap() else {
            panic!("ρ < 1 must be stable");
        };
        let metrics = queue.metrics();
        prop_assert!(metrics.littles_law_residual() < 1e-9, "{metrics:?}");
        prop_assert!((metrics.utilization - utilization).abs() < 1e-9);
        prop_assert!((0.0..=1.0).contains(&metrics.probability_of_waiting));
        prop_assert!((0.0..=1.0).contains(&metrics.p0));
    }

    #[test]
    fn mmc_quantiles_monotone(servers in 1u64..50, utilization in 0.05f64..0.98) {
        let Outcome::Stable(queue) = Mmc::solve(utilization * servers as f64 * 100.0, 100.0, servers).unwrap() else {
            panic!("ρ < 1 must be stable");
        };
        let levels = [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999];
        let sojourn: Vec<f64> = levels.iter().map(|&q| queue.sojourn_time_quantile(q).unwrap()).collect();
        let waiting: Vec<f64> = levels.iter().map(|&q| queue.waiting_time_quantile(q).unwrap()).collect();
        for pair in sojourn.windows(2) {
            prop_assert!(pair[0] <= pair[1], "{sojourn:?}");
        }
        for pair in waiting.windows(2) {
            prop_assert!(pair[0] <= pair[1], "{waiting:?}");
        }
        // The sojourn time includes a service time, so it dominates the wait.
        for (s, w) in sojourn.iter().zip(&waiting) {
            prop_assert!(s >= w);
        }
    }

    #[test]
    fn mmck_littles_law(servers in 1u64..20, extra in 0u64..200, load in 0.05f64..5.0) {
        let capacity = servers + extra;
        let queue = Mmck::solve(load * servers as f64, 1.0, servers, capacity).unwrap();
        let metrics = queue.metrics();
        prop_assert!(metrics.littles_law_residual() < 1e-9, "{metrics:?}");
        prop_assert!(metrics.utilization <= 1.0 + 1e-12);
        let total: f64 = (0..=capacity).map(|n| queue.state_probability(n)).sum();
        prop_assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mg1_littles_law(utilization in 0.01f64..0.99, scv in 0.0f64..4.0) {
        let distribution = if scv == 0.0 { ServiceDistribution::Deterministic } else { ServiceDistribution::Gamma { scv } };
        let Outcome::Stable(queue) = Mg1::solve(utilization * 1000.0, 0.001, distribution).unwrap() else {
            panic!("ρ < 1 must be stable");
        };
        prop_assert!(queue.metrics().littles_law_residual() < 1e-9);
    }

    #[test]
    fn mg1_quantiles_monotone(utilization in 0.05f64..0.9, scv in 0.2f64..3.0) {
        let distribution = ServiceDistribution::Gamma { scv };
        let Outcome::Stable(queue) = Mg1::solve(utilization * 1000.0, 0.001, distribution).unwrap() else {
            panic!("ρ < 1 must be stable");
        };
        let values: Vec<f64> = [0.5, 0.9, 0.99].iter().map(|&q| queue.sojourn_time_quantile(q).unwrap()).collect();
        prop_assert!(values[0] <= values[1] && values[1] <= values[2], "{values:?}");
    }
}
