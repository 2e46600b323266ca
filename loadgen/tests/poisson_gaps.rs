//! Goodness of fit of the scheduled gaps to the exponential distribution,
//! with the one-sample Kolmogorov–Smirnov test.

use queuelab_loadgen::PoissonSchedule;

const RATE_PER_S: f64 = 1000.0;
const SAMPLES: usize = 5000;
const SEED: u64 = 20_261_204;

/// Critical value of the Kolmogorov–Smirnov statistic at significance 0.01
/// for large n: 1.628 / √n (asymptotic Kolmogorov distribution table).
fn ks_critical_value_1_percent(n: usize) -> f64 {
    1.628 / (n as f64).sqrt()
}

/// Scheduled gaps in seconds: differences of consecutive send offsets, as
/// the generator uses them.
fn scheduled_gaps_s() -> Vec<f64> {
    let offsets: Vec<f64> = PoissonSchedule::new(RATE_PER_S, SEED)
        .unwrap()
        .take(SAMPLES + 1)
        .map(|offset| offset.as_secs_f64())
        .collect();
    let mut gaps = vec![offsets[0]];
    gaps.extend(offsets.windows(2).map(|pair| pair[1] - pair[0]));
    gaps.truncate(SAMPLES);
    gaps
}

/// Computes the Kolmogorov–Smirnov statistic D = sup |F_n(x) − F(x)| for the exponential CDF
/// F(x) = 1 − e^(−λx).
fn ks_statistic(gaps_s: &[f64], rate_per_s: f64) -> f64 {
    let mut sorted = gaps_s.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;

    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let cdf = 1.0 - (-rate_per_s * x).exp();
            let above = (i + 1) as f64 / n - cdf;
            let below = cdf - i as f64 / n;
            above.max(below)
        })
        .fold(0.0, f64::max)
}

#[test]
fn gaps_fit_exponential_at_rate() {
    let gaps_s = scheduled_gaps_s();

    let statistic = ks_statistic(&gaps_s, RATE_PER_S);
    let critical = ks_critical_value_1_percent(gaps_s.len());

    assert!(
        statistic < critical,
        "D = {statistic:.4} is not below the 1 % critical value {critical:.4}"
    );
}

#[test]
fn gaps_reject_wrong_rate() {
    // Against 1.2 λ the true gaps differ from the tested CDF by up to
    // e^(−0.912) − e^(−1.094) ≈ 0.067 (at x = ln 1.2 / 0.2λ), far above the
    // critical value 0.023 for 5000 samples: the test must reject.
    let gaps_s = scheduled_gaps_s();

    let statistic = ks_statistic(&gaps_s, 1.2 * RATE_PER_S);
    let critical = ks_critical_value_1_percent(gaps_s.len());

    assert!(
        statistic > critical,
        "D = {statistic:.4} against 1.2 λ is not above {critical:.4}"
    );
}

#[test]
fn gap_mean_is_inverse_rate() {
    // The mean of n exponential gaps has standard deviation 1/(λ√n), so 4
    // standard deviations is 4 / (1000 × √5000) s ≈ 56.6 µs.
    let gaps_s = scheduled_gaps_s();

    let mean_s = gaps_s.iter().sum::<f64>() / gaps_s.len() as f64;
    let tolerance_s = 4.0 / (RATE_PER_S * (SAMPLES as f64).sqrt());

    assert!(
        (mean_s - 1.0 / RATE_PER_S).abs() < tolerance_s,
        "mean gap {mean_s} s is not within {tolerance_s} s of 1 ms"
    );
}
