//! Engine results against values computed independently.
//!
//! Reference values come from the textbook formulas evaluated by hand or
//! with mpmath at 40 significant digits (exact sums of a^k/k!, root finding
//! by bisection), not from this crate.

// The references keep the digits mpmath printed, beyond what an f64 holds.
#![allow(clippy::excessive_precision)]

use queuelab_engine::{
    Complex64, Mg1, Mmc, Mmck, Network, Outcome, ResponseMethod, ResponseOptions,
    ServiceDistribution, StationSpec, cdf_from_transform, erlang_c,
};

fn close(actual: f64, expected: f64, relative: f64) -> bool {
    (actual - expected).abs() <= relative * expected.abs().max(f64::MIN_POSITIVE)
}

macro_rules! assert_close {
    ($actual:expr, $expected:expr, $relative:expr) => {{
        let (actual, expected) = ($actual, $expected);
        assert!(
            close(actual, expected, $relative),
            "{} = {actual}, expected {expected} within {}",
            stringify!($actual),
            $relative
        );
    }};
}

fn stable<T: std::fmt::Debug>(outcome: Outcome<T>) -> T {
    match outcome {
        Outcome::Stable(solution) => solution,
        Outcome::Unstable(overload) => panic!("expected a stable queue, got {overload:?}"),
    }
}

#[test]
fn mm1_means_and_quantiles_by_hand() {
    // λ = 800/s, μ = 1000/s: ρ = 0.8, L = ρ/(1−ρ) = 4, W = 1/(μ−λ) = 5 ms.
    let queue = stable(Mmc::solve(800.0, 1000.0, 1).unwrap());
    let metrics = queue.metrics();
    assert_close!(metrics.utilization, 0.8, 1e-14);
    assert_close!(metrics.p0, 0.2, 1e-12);
    assert_close!(metrics.probability_of_waiting, 0.8, 1e-14);
    assert_close!(metrics.mean_number_in_system, 4.0, 1e-12);
    assert_close!(metrics.mean_queue_length, 3.2, 1e-12);
    assert_close!(metrics.mean_sojourn_time, 0.005, 1e-12);
    assert_close!(metrics.mean_waiting_time, 0.004, 1e-12);

    // Sojourn ~ Exp(μ − λ): p99 = ln(100)/200; wait p99 = ln(0.8/0.01)/200.
    assert_close!(
        queue.sojourn_time_quantile(0.99).unwrap(),
        100f64.ln() / 200.0,
        1e-9
    );
    assert_close!(
        queue.waiting_time_quantile(0.99).unwrap(),
        80f64.ln() / 200.0,
        1e-12
    );
    // 20 % of arrivals find the server free, so the median wait ... ln(0.8/0.5)/200.
    assert_close!(
        queue.waiting_time_quantile(0.5).unwrap(),
        1.6f64.ln() / 200.0,
        1e-12
    );
    assert_eq!(queue.waiting_time_quantile(0.1).unwrap(), 0.0);
}

#[test]
fn mmc_four_servers_against_mpmath() {
    // c = 4, λ = 1000/s, μ = 300/s.
    let queue = stable(Mmc::solve(1000.0, 300.0, 4).unwrap());
    let metrics = queue.metrics();
    assert_close!(
        metrics.probability_of_waiting,
        0.657_721_652_196_790_32,
        1e-13
    );
    assert_close!(metrics.p0, 0.021_310_181_531_176_006, 1e-12);
    assert_close!(metrics.mean_queue_length, 3.288_608_260_983_951_6, 1e-12);
    assert_close!(
        metrics.mean_waiting_time,
        0.003_288_608_260_983_951_6,
        1e-12
    );
    assert_close!(
        metrics.mean_sojourn_time,
        0.006_621_941_594_317_284_9,
        1e-12
    );
    assert_close!(
        metrics.mean_number_in_system,
        6.621_941_594_317_284_9,
        1e-12
    );
    assert_close!(metrics.utilization, 1000.0 / 1200.0, 1e-14);

    let quantiles = queue.sojourn_time_quantiles();
    assert_close!(quantiles.p50, 0.005_109_974_669_363_71, 1e-9);
    assert_close!(quantiles.p90, 0.014_281_939_872_344_5, 1e-9);
    assert_close!(quantiles.p99, 0.026_241_991_008_888_6, 1e-9);
    assert_close!(quantiles.p99_9, 0.037_880_828_855_313_7, 1e-9);
    assert_close!(
        queue.waiting_time_quantile(0.99).unwrap(),
        0.020_930_983_639_275_7,
        1e-12
    );
}

#[test]
fn erlang_c_where_powers_overflow() {
    // a^c/c! is about 10^410 for c = 1000, a = 950: beyond a double.
    assert_close!(erlang_c(1000, 950.0), 0.068_253_415_377_141_424, 1e-11);
    assert_close!(erlang_c(200, 180.0), 0.094_471_218_177_590_817, 1e-12);
}

#[test]
fn erlang_c_hundred_thousand_servers() {
    assert_close!(
        erlang_c(100_000, 99_000.0),
        0.000_821_908_237_410_795_4,
        1e-9
    );
    assert_close!(erlang_c(100_000, 99_800.0), 0.412_200_996_785_195_4, 1e-9);

    let queue = stable(Mmc::solve(99_800.0, 1.0, 100_000).unwrap());
    let metrics = queue.metrics();
    assert!(metrics.mean_waiting_time.is_finite());
    // Wq = C/(cμ − λ) = 0.4122.../200.
    assert_close!(
        metrics.mean_waiting_time,
        0.412_200_996_785_195_4 / 200.0,
        1e-9
    );
    // P0 underflows to 0 here, which is its value to double precision.
    assert!(metrics.p0 >= 0.0);
    assert!(metrics.p0 < 1e-300);
}

#[test]
fn mmc_p0_for_large_load() {
    let queue = stable(Mmc::solve(180.0, 1.0, 200).unwrap());
    assert_close!(queue.p0(), 6.571_842_321_876_840_5e-79, 1e-9);
}

#[test]
fn mmck_two_servers_capacity_five() {
    // c = 2, K = 5, λ = 3/s, μ = 1/s: weights 1, 3, 4.5, 6.75, 10.125, 15.1875.
    let queue = Mmck::solve(3.0, 1.0, 2, 5).unwrap();
    let metrics = queue.metrics();
    assert_close!(metrics.p0, 1.0 / 40.5625, 1e-13);
    assert_close!(metrics.probability_of_loss, 15.1875 / 40.5625, 1e-13);
    assert_close!(
        metrics.mean_number_in_system,
        3.665_639_445_300_462_2,
        1e-12
    );
    assert_close!(metrics.mean_queue_length, 1.788_906_009_244_992_3, 1e-12);
    assert_close!(metrics.mean_sojourn_time, 1.953_201_970_443_349_8, 1e-12);
    assert_close!(metrics.mean_waiting_time, 0.953_201_970_443_349_75, 1e-12);
    assert_close!(metrics.utilization, 0.938_366_718_027_734_98, 1e-12);
    assert_close!(
        metrics.probability_of_waiting,
        0.842_364_532_019_704_43,
        1e-12
    );
    assert_close!(
        queue.waiting_time_survival(0.5),
        0.627_932_149_585_737_76,
        1e-12
    );
}

#[test]
fn mmck_with_large_capacity_approaches_mmc() {
    let limited = Mmck::solve(1000.0, 300.0, 4, 2000).unwrap().metrics();
    let unlimited = stable(Mmc::solve(1000.0, 300.0, 4).unwrap()).metrics();
    assert_close!(limited.mean_sojourn_time, unlimited.mean_sojourn_time, 1e-9);
    assert!(limited.probability_of_loss < 1e-100);
}

#[test]
fn md1_means_by_pollaczek_khinchine() {
    // λ = 500/s, D = 1 ms: ρ = 0.5, Wq = ρD/(2(1−ρ)) = 0.5 ms.
    let queue = stable(Mg1::solve(500.0, 0.001, ServiceDistribution::Deterministic).unwrap());
    let metrics = queue.metrics();
    assert_close!(metrics.mean_waiting_time, 0.0005, 1e-12);
    assert_close!(metrics.mean_sojourn_time, 0.0015, 1e-12);
    assert_close!(metrics.mean_queue_length, 0.25, 1e-12);
    assert_close!(metrics.p0, 0.5, 1e-12);
}

#[test]
fn md1_quantiles_match_erlang_formula() {
    // Erlang's M/D/1 waiting-time CDF, solved with mpmath: p90 and p99 of the sojourn.
    // That CDF has kinks at multiples of D, which limit the inversion to about 1e-3.
    let queue = stable(Mg1::solve(500.0, 0.001, ServiceDistribution::Deterministic).unwrap());
    assert_close!(
        queue.sojourn_time_quantile(0.9).unwrap(),
        0.002_515_744_841_381_84,
        1e-3
    );
    assert_close!(
        queue.sojourn_time_quantile(0.99).unwrap(),
        0.004_336_255_957_002_2,
        1e-3
    );
}

#[test]
fn mg1_exponential_equals_mm1() {
    let general = stable(Mg1::solve(800.0, 0.001, ServiceDistribution::Exponential).unwrap());
    assert_close!(general.metrics().mean_sojourn_time, 0.005, 1e-12);
    assert_close!(
        general.sojourn_time_quantile(0.99).unwrap(),
        100f64.ln() / 200.0,
        1e-6
    );
}

#[test]
fn unstable_single_server_reports_servers_needed() {
    // 10 000/s at 2.5 ms: a = 25 erlangs.
    let outcome = Mmc::solve(10_000.0, 400.0, 1).unwrap();
    let Outcome::Unstable(overload) = outcome else {
        panic!("ρ = 25 must be unstable")
    };
    assert_close!(overload.utilization, 25.0, 1e-12);
    assert_eq!(overload.min_servers_for_stability, 26);
    assert_eq!(overload.servers_for_target_utilization, 36);
}

#[test]
fn exactly_saturated_is_unstable() {
    assert!(!Mmc::solve(2000.0, 1000.0, 2).unwrap().is_stable());
}

#[test]
fn invalid_parameters_are_rejected() {
    assert!(Mmc::solve(0.0, 1.0, 1).is_err());
    assert!(Mmc::solve(1.0, f64::NAN, 1).is_err());
    assert!(Mmc::solve(1.0, 1.0, 0).is_err());
    assert!(Mmck::solve(1.0, 1.0, 3, 2).is_err());
    assert!(Mg1::solve(1.0, -0.001, ServiceDistribution::Exponential).is_err());
    assert!(Mg1::solve(1.0, 0.001, ServiceDistribution::Gamma { scv: -1.0 }).is_err());
    let queue = stable(Mmc::solve(1.0, 2.0, 1).unwrap());
    assert!(queue.sojourn_time_quantile(1.0).is_err());
    assert!(queue.sojourn_time_quantile(-0.1).is_err());
}

fn reference_network() -> Network {
    let stations = vec![
        StationSpec::exponential("api-gateway", 3, 5000.0),
        StationSpec::exponential("user", 2, 2000.0),
        StationSpec::exponential("product", 2, 1500.0),
        StationSpec::exponential("order", 2, 1000.0),
        StationSpec::exponential("payment", 1, 800.0),
        StationSpec::exponential("database", 1, 3000.0),
    ];
    let mut network = Network::new(stations).unwrap();
    for (from, to, probability) in [
        (0, 1, 0.3),
        (0, 2, 0.4),
        (0, 3, 0.3),
        (1, 5, 0.8),
        (2, 5, 0.6),
        (3, 4, 1.0),
        (3, 5, 0.9),
        (4, 5, 0.7),
    ] {
        network.add_call(from, to, probability).unwrap();
    }
    network.set_external_rate(0, 1000.0).unwrap();
    network
}

#[test]
fn reference_network_matches_hand_solution() {
    let solution = reference_network()
        .solve(&ResponseOptions::default())
        .unwrap();

    let expected_visits = [1.0, 0.3, 0.4, 0.3, 0.3, 0.96];
    let expected_utilization = [1.0 / 15.0, 0.075, 0.4 / 3.0, 0.15, 0.375, 0.32];
    let expected_sojourn = [
        0.000_200_083_542_189,
        0.000_502_828_409_805,
        0.000_678_733_031_674,
        0.001_023_017_902_81,
        0.002,
        0.000_490_196_078_431,
    ];
    for (index, station) in solution.stations.iter().enumerate() {
        assert_close!(station.visit_ratio, expected_visits[index], 1e-12);
        assert_close!(station.utilization, expected_utilization[index], 1e-12);
        assert_close!(
            station.mean_sojourn_time.unwrap(),
            expected_sojourn[index],
            1e-10
        );
    }

    assert_eq!(solution.bottleneck, "payment");
    assert_close!(solution.max_external_rate, 8000.0 / 3.0, 1e-12);
    let end_to_end = solution.end_to_end.expect("all stations are stable");
    assert_close!(end_to_end.mean_response_time, 0.001_999_918_883_94, 1e-10);
    assert_eq!(end_to_end.method, ResponseMethod::LaplaceInversion);
}

#[test]
fn end_to_end_p99_not_summed() {
    let solution = reference_network()
        .solve(&ResponseOptions::default())
        .unwrap();
    let end_to_end = solution.end_to_end.unwrap();
    let summed_p99: f64 = solution
        .stations
        .iter()
        .map(|station| station.visit_ratio * station.sojourn_time.unwrap().p99)
        .sum();
    // The p99 of the random sum lies above its mean and well away from the naive sum.
    assert!(end_to_end.response_time.p99 > end_to_end.mean_response_time);
    assert!((end_to_end.response_time.p99 - summed_p99).abs() > 0.1 * summed_p99);
}

#[test]
fn tandem_response_matches_hypoexponential() {
    // Two M/M/1 in series, λ = 100/s, μ = 300/s and 250/s: R = Exp(200) + Exp(150).
    let mut network = Network::new(vec![
        StationSpec::exponential("front", 1, 300.0),
        StationSpec::exponential("back", 1, 250.0),
    ])
    .unwrap();
    network.add_call(0, 1, 1.0).unwrap();
    network.set_external_rate(0, 100.0).unwrap();
    let end_to_end = network
        .solve(&ResponseOptions::default())
        .unwrap()
        .end_to_end
        .unwrap();
    assert_close!(
        end_to_end.mean_response_time,
        1.0 / 200.0 + 1.0 / 150.0,
        1e-12
    );
    assert_close!(end_to_end.response_time.p50, 0.009_746_334_982_613_33, 1e-6);
    assert_close!(end_to_end.response_time.p90, 0.022_759_919_877_836_1, 1e-6);
    assert_close!(end_to_end.response_time.p99, 0.039_198_704_872_864_8, 1e-6);
    // The inverted CDF is good to about 1e-8, which moves the p99.9 by about 1e-6 relative.
    assert_close!(
        end_to_end.response_time.p99_9,
        0.054_965_528_992_651_6,
        1e-5
    );
}

#[test]
fn cyclic_network_falls_back_to_simulation() {
    // One M/M/1 station that calls itself with 0.5: v = 2, so λ = 200/s.
    // Each visit's sojourn is Exp(μ − λ) = Exp(300), and the number of visits is
    // geometric with mean 2, so R ~ Exp(150): p99 = ln(100)/150.
    let mut network = Network::new(vec![StationSpec::exponential("loop", 1, 500.0)]).unwrap();
    network.add_call(0, 0, 0.5).unwrap();
    network.set_external_rate(0, 100.0).unwrap();
    let solution = network.solve(&ResponseOptions::default()).unwrap();
    assert!(solution.has_cycles);
    assert_close!(solution.stations[0].arrival_rate, 200.0, 1e-12);
    let end_to_end = solution.end_to_end.unwrap();
    assert!(matches!(
        end_to_end.method,
        ResponseMethod::Simulation {
            requests: 200_000,
            seed: 1
        }
    ));
    assert_close!(end_to_end.mean_response_time, 1.0 / 150.0, 1e-12);
    // 200 000 draws: the p99's standard error is about 1 %.
    assert_close!(end_to_end.response_time.p99, 100f64.ln() / 150.0, 0.05);
    assert_close!(end_to_end.response_time.p50, 2f64.ln() / 150.0, 0.02);
}

#[test]
fn divergent_cycle_is_rejected() {
    let mut network = Network::new(vec![
        StationSpec::exponential("a", 1, 500.0),
        StationSpec::exponential("b", 1, 500.0),
    ])
    .unwrap();
    network.add_call(0, 1, 1.0).unwrap();
    network.add_call(1, 0, 1.0).unwrap();
    network.set_external_rate(0, 1.0).unwrap();
    let error = network.solve(&ResponseOptions::default()).unwrap_err();
    assert!(error.to_string().contains("gain is 1 or more"), "{error}");
}

#[test]
fn overloaded_network_names_unstable_station() {
    let network = reference_network().with_external_rate(3000.0).unwrap();
    let solution = network.solve(&ResponseOptions::default()).unwrap();
    assert!(!solution.stable);
    assert!(solution.end_to_end.is_none());
    let unstable: Vec<&str> = solution
        .unstable_stations()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(unstable, vec!["payment"]);
    // Payment at 900/s with μ = 800/s needs 2 servers, and 900/(0.7·800) → 2.
    let overload = solution.stations[4].overload.as_ref().unwrap();
    assert_eq!(overload.min_servers_for_stability, 2);
    assert_eq!(overload.servers_for_target_utilization, 2);
}

#[test]
fn planning_keeps_every_station_under_target() {
    let plan = reference_network()
        .with_external_rate(2000.0)
        .unwrap()
        .servers_for_target(0.5)
        .unwrap();
    // Offered loads at 2000/s: 0.4, 0.3, 0.533, 0.6, 0.75, 0.64 erlangs; at 50 %: 1, 1, 2, 2, 2, 2.
    let servers: Vec<u64> = plan.iter().map(|(_, servers)| *servers).collect();
    assert_eq!(servers, vec![1, 1, 2, 2, 2, 2]);
}

#[test]
fn gamma_transform_inverts_to_erlang_two() {
    // Gamma with SCV 1/2 and mean 2/λ is Erlang-2 with rate λ: F(t) = 1 − e^(−λt)(1 + λt).
    let rate = 1000.0;
    let distribution = ServiceDistribution::Gamma { scv: 0.5 };
    let transform = |s: Complex64| distribution.transform(2.0 / rate, s);
    for t in [0.0005, 0.002, 0.006] {
        let expected = 1.0 - f64::exp(-rate * t) * (1.0 + rate * t);
        assert_close!(cdf_from_transform(transform, t), expected, 1e-6);
    }
}

#[test]
fn random_transport_overhead_widens_tail() {
    // The tandem above with an Exp(1000) overhead on the call into "back":
    // R = Exp(200) + Exp(1000) + Exp(150), a hypoexponential solved with mpmath.
    let mut network = Network::new(vec![
        StationSpec::exponential("front", 1, 300.0),
        StationSpec::exponential("back", 1, 250.0),
    ])
    .unwrap();
    network.add_call(0, 1, 1.0).unwrap();
    network.set_external_rate(0, 100.0).unwrap();
    network
        .set_transport_overhead_distribution(1, 0.001, ServiceDistribution::Exponential)
        .unwrap();
    let end_to_end = network
        .solve(&ResponseOptions::default())
        .unwrap()
        .end_to_end
        .unwrap();
    assert_close!(
        end_to_end.mean_response_time,
        1.0 / 200.0 + 0.001 + 1.0 / 150.0,
        1e-12
    );
    assert_close!(end_to_end.response_time.p50, 0.010_777_830_740_131_6, 1e-6);
    assert_close!(end_to_end.response_time.p99, 0.040_276_854_449_391_2, 1e-6);
}
