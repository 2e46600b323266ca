//! Erlang B and Erlang C by a stable recursion.
//!
//! The textbook forms divide sums of `a^k / k!`, which overflow a double for a
//! few hundred servers. Here Erlang B comes from the recursion
//! `B(0) = 1`, `B(k) = a·B(k−1) / (k + a·B(k−1))`, run on its reciprocal
//! `1/B(k) = 1 + (k/a)·1/B(k−1)`: a chain of positive multiply-adds with no
//! cancellation and no division, and Erlang C follows from it in closed form.
//! The cost is O(c). When 1/B passes the largest double, B is below 1e-308
//! and is returned as 0, which is its value to double precision.

/// Returns the Erlang B blocking probability for `servers` servers and an
/// offered load of `offered_load` = λ/μ erlangs.
///
/// It is the loss probability of an M/M/c/c system. Any non-negative offered
/// load is valid; 0 servers block every arrival, and a load of 0 blocks none.
pub fn erlang_b(servers: u64, offered_load: f64) -> f64 {
    if servers == 0 {
        return 1.0;
    }
    if offered_load <= 0.0 {
        return 0.0;
    }
    let inverse_load = 1.0 / offered_load;
    let mut reciprocal = 1.0;
    for k in 1..=servers {
        reciprocal = 1.0 + k as f64 * inverse_load * reciprocal;
        if reciprocal == f64::INFINITY {
            return 0.0;
        }
    }
    1.0 / reciprocal
}

/// Returns the Erlang C probability that an arrival to an M/M/c queue waits.
///
/// `offered_load` = λ/μ must be below `servers` (the stability condition);
/// at or above it every arrival waits, and the result is 1.
pub fn erlang_c(servers: u64, offered_load: f64) -> f64 {
    let c = servers as f64;
    if offered_load >= c {
        return 1.0;
    }
    let blocking = erlang_b(servers, offered_load);
    c * blocking / (c - offered_load * (1.0 - blocking))
}

/// Returns ln(n!) to near double precision for any n.
///
/// Small n are summed exactly; large n use Stirling's series, whose error
/// after the n⁻⁵ term is below 1e-15 relative for n ≥ 64.
pub fn ln_factorial(n: u64) -> f64 {
    if n < 64 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    let inverse = 1.0 / x;
    let inverse_squared = inverse * inverse;
    let series =
        inverse * (1.0 / 12.0 - inverse_squared * (1.0 / 360.0 - inverse_squared / 1260.0));
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_b_small_cases_by_hand() {
        // B(1, a) = a / (1 + a); B(2, a) = (a²/2) / (1 + a + a²/2).
        assert!((erlang_b(1, 1.0) - 0.5).abs() < 1e-15);
        assert!((erlang_b(2, 2.0) - 2.0 / 5.0).abs() < 1e-15);
        assert_eq!(erlang_b(0, 3.0), 1.0);
    }

    #[test]
    fn erlang_c_matches_closed_form_for_four_servers() {
        // c = 4, a = 1000/300: sum_{k<4} a^k/k! and a^4/(4!(1-ρ)) worked by hand.
        let a: f64 = 10.0 / 3.0;
        let rho = a / 4.0;
        let head = 1.0 + a + a * a / 2.0 + a.powi(3) / 6.0;
        let tail = a.powi(4) / 24.0 / (1.0 - rho);
        let expected = tail / (head + tail);
        assert!((erlang_c(4, a) - expected).abs() < 1e-14);
        assert!((expected - 0.6577).abs() < 1e-4);
    }

    #[test]
    fn erlang_c_single_server_is_rho() {
        for rho in [0.1, 0.5, 0.9, 0.999] {
            assert!((erlang_c(1, rho) - rho).abs() < 1e-14);
        }
    }

    #[test]
    fn erlang_c_unstable_is_one() {
        assert_eq!(erlang_c(3, 3.0), 1.0);
        assert_eq!(erlang_c(3, 7.5), 1.0);
    }

    #[test]
    fn ln_factorial_agrees_on_both_branches() {
        // 20! = 2432902008176640000 exactly.
        assert!((ln_factorial(20) - 2_432_902_008_176_640_000_f64.ln()).abs() < 1e-12);
        // Sum of logs against the series just past the switch.
        let summed: f64 = (2..=100u64).map(|k| (k as f64).ln()).sum();
        assert!((ln_factorial(100) - summed).abs() < 1e-10);
        // ln(100 000!) = lgamma(100 001) = 1 051 299.221899122 (C library lgamma).
        assert!((ln_factorial(100_000) - 1_051_299.221_899_121_8).abs() < 1e-6);
    }
}
