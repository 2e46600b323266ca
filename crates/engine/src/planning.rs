//! Server counts for stability and for a target utilization.

/// Returns the smallest number of servers c with `offered_load` < c.
///
/// `offered_load` is a = λ/μ in erlangs and must be finite and non-negative.
pub fn servers_for_stability(offered_load: f64) -> u64 {
    offered_load.floor() as u64 + 1
}

/// Returns the smallest number of servers c with `offered_load / c` at or below
/// `target_utilization`, and at least 1.
///
/// `target_utilization` must lie in (0, 1]. The quotient is rounded up after
/// removing a relative error of 1e-12, so 0.7·c/0.7 gives c and not c + 1.
pub fn servers_for_utilization(offered_load: f64, target_utilization: f64) -> u64 {
    let exact = offered_load / target_utilization;
    let servers = (exact * (1.0 - 1e-12)).ceil() as u64;
    servers.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stability_needs_more_than_offered_load() {
        assert_eq!(servers_for_stability(25.0), 26);
        assert_eq!(servers_for_stability(24.9), 25);
        assert_eq!(servers_for_stability(0.0), 1);
    }

    #[test]
    fn target_utilization_rounds_up() {
        // 25 erlangs at 70 %: 25/0.7 = 35.71, so 36 servers.
        assert_eq!(servers_for_utilization(25.0, 0.7), 36);
        // 7 erlangs at 70 % is exactly 10 servers.
        assert_eq!(servers_for_utilization(7.0, 0.7), 10);
        assert_eq!(servers_for_utilization(0.01, 0.7), 1);
    }
}
