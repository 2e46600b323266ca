//! The comparison on synthetic windows whose figures are known by construction.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use queuelab_analysis::{
    CallMeasurement, HistogramError, LoadMeasurement, MAX_HISTOGRAM_BYTES, StationInput,
    StationMeasurement, compare, decode_histogram, predicted_sweep, render,
};
use queuelab_topology::Topology;

const WINDOW_S: f64 = 10.0;

/// Builds a histogram of `count` copies of `nanoseconds`.
fn constant(nanoseconds: u64, count: u64) -> Histogram<u64> {
    let mut histogram = Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    histogram.record_n(nanoseconds, count).unwrap();
    histogram
}

/// Reference-topology visit ratios, servers and service rates, by hand.
const STATIONS: [(&str, f64, u32, f64); 6] = [
    ("api-gateway", 1.0, 3, 5000.0),
    ("user", 0.3, 2, 2000.0),
    ("product", 0.4, 2, 1500.0),
    ("order", 0.3, 2, 1000.0),
    ("payment", 0.3, 1, 800.0),
    ("database", 0.96, 1, 3000.0),
];

/// Lateness of every hold at each station, in nanoseconds, in the order of
/// [`STATIONS`].
const HOLD_LATENESS_NS: [u64; 6] = [5_000, 6_000, 7_000, 8_000, 41_000, 9_000];

/// Builds a window at 1000 requests/s in which every station matches its M/M/c mean
/// sojourn time, handles each request in 500 µs, and every call costs 100 µs
/// more than the callee's handling time.
fn window() -> (LoadMeasurement, Vec<StationInput>) {
    let topology = Topology::reference();
    let sojourn_ns = [200_084, 502_828, 678_733, 1_023_018, 2_000_000, 490_196];
    let stations = STATIONS
        .iter()
        .zip(sojourn_ns)
        .zip(HOLD_LATENESS_NS)
        .map(|((&(name, visits, servers, rate), sojourn), lateness)| {
            let arrivals = (1000.0 * visits * WINDOW_S).round() as u64;
            let calls = topology
                .calls_from(name)
                .map(|call| CallMeasurement {
                    to: call.to.clone(),
                    latency_ns: constant(600_000, 100),
                    statuses: BTreeMap::from([(0, 100)]),
                })
                .collect();
            StationInput::Measured(Box::new(StationMeasurement {
                name: name.to_owned(),
                servers,
                window_length_s: WINDOW_S,
                arrivals,
                completions: arrivals,
                losses: 0,
                deadline_drops: 0,
                busy_server_s: arrivals as f64 / rate,
                waiting_time_ns: constant(1_000, arrivals),
                service_time_ns: constant((1e9 / rate) as u64, arrivals),
                sojourn_time_ns: constant(sojourn, arrivals),
                handling_time_ns: constant(500_000, arrivals),
                dispatch_delay_ns: Histogram::new(3).unwrap(),
                hold_lateness_ns: constant(lateness, arrivals),
                calls,
                agent: None,
            }))
        })
        .collect();
    let load = LoadMeasurement {
        window_length_s: WINDOW_S,
        sent: 10_000,
        completed: 9_990,
        statuses: BTreeMap::from([(0, 9_990), (14, 10)]),
        dropped_by_cap: 0,
        latency_ns: constant(2_300_000, 10_000),
    };
    (load, stations)
}

#[test]
fn matching_window_has_small_errors() {
    let (load, stations) = window();
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    assert_eq!(report.external_rate, 1000.0);
    assert_eq!(report.bottleneck, "payment");
    assert_eq!(
        report.counts.errors,
        BTreeMap::from([("UNAVAILABLE".to_owned(), 10)])
    );

    let payment = &report.stations[4];
    assert_eq!(payment.status, "measured");
    let measured = payment.measured.as_ref().unwrap();
    let predicted = payment.predicted.as_ref().unwrap();
    // 3000 arrivals in 10 s; busy 3.75 s on 1 server.
    assert_eq!(measured.arrival_rate, 300.0);
    assert!((measured.utilization - 0.375).abs() < 1e-12);
    assert!((predicted.utilization - 0.375).abs() < 1e-12);
    // M/M/1 at λ = 300/s, μ = 800/s: W = 1/500 s.
    assert!((predicted.mean_sojourn_time - 0.002).abs() < 1e-12);
    // Recorded at 3 significant digits, so within 0.1 %.
    for station in &report.stations {
        let error = station.relative_error.as_ref().unwrap();
        assert!(
            error.mean_sojourn_time.abs() < 1e-3,
            "{}: {error:?}",
            station.name
        );
        assert!(
            error.arrival_rate.abs() < 1e-3,
            "{}: {error:?}",
            station.name
        );
        assert!(
            error.utilization.abs() < 1e-3,
            "{}: {error:?}",
            station.name
        );
    }
    // Deterministic 1.25 ms service: SCV 0.
    assert!(measured.service_time_scv.abs() < 1e-6);
}

#[test]
fn hold_lateness_names_worst_station() {
    let (load, stations) = window();
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    // Every payment hold ends 41 µs late, recorded at 3 significant digits.
    let payment = report.stations[4].hold_lateness_p99.unwrap();
    assert!((payment - 41e-6).abs() < 41e-9, "{payment}");
    let table = render::table(&report);
    assert!(
        table.contains("hold lateness: p99 41.0 µs at the worst station (payment)"),
        "{table}"
    );
}

#[test]
fn transport_overhead_enters_prediction() {
    let (load, stations) = window();
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    // Every call: 600 µs latency against 500 µs handling.
    assert_eq!(report.transport_overhead.calls.len(), 8);
    assert!((report.transport_overhead.mean_per_call - 100e-6).abs() < 1e-6);

    // 2.000 ms without overhead, plus 100 µs per visit: visits add up to 3.26.
    // Histograms at 3 significant digits move each 500 or 600 µs mean by up to
    // 0.3 µs, so the overhead term may be off by 3.26 × 0.6 µs, about 2 µs.
    let predicted = report.end_to_end.predicted.as_ref().unwrap();
    let expected = 0.001_999_918_883_94 + 3.26 * 100e-6;
    assert!(
        (predicted.mean_response_time - expected).abs() < 2.5e-6,
        "{}",
        predicted.mean_response_time
    );
    let measured = report.end_to_end.measured.as_ref().unwrap();
    assert!((measured.mean_response_time - 0.0023).abs() < 3e-6);
    let error = report.end_to_end.relative_error.as_ref().unwrap();
    assert!(error.mean_response_time.abs() < 0.02, "{error:?}");
}

#[test]
fn missing_station_is_marked_and_rest_compared() {
    let (load, mut stations) = window();
    stations[4] = StationInput::Missing {
        name: "payment".into(),
        reason: "connection refused".into(),
    };
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    let payment = &report.stations[4];
    assert_eq!(payment.status, "missing");
    assert_eq!(
        payment.missing_reason.as_deref(),
        Some("connection refused")
    );
    assert!(payment.measured.is_none());
    assert!(payment.predicted.is_some());
    for (index, station) in report.stations.iter().enumerate() {
        if index != 4 {
            assert_eq!(station.status, "measured", "{}", station.name);
        }
    }
    // Edges order → payment and payment → database cannot be measured.
    assert_eq!(report.transport_overhead.calls.len(), 6);
    assert!(render::table(&report).contains("payment      missing: connection refused"));
}

#[test]
fn json_uses_model_keys() {
    let (load, stations) = window();
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();

    for station in json["stations"].as_array().unwrap() {
        assert!(station["name"].is_string());
        for side in ["measured", "predicted"] {
            for key in ["arrival_rate", "utilization", "mean_sojourn_time"] {
                assert!(station[side][key].is_number(), "{side}.{key}");
            }
            for key in ["p50", "p90", "p99"] {
                assert!(
                    station[side]["sojourn_time"][key].is_number(),
                    "{side}.sojourn_time.{key}"
                );
            }
        }
    }
    for side in ["measured", "predicted"] {
        assert!(json["end_to_end"][side]["mean_response_time"].is_number());
        for key in ["p50", "p90", "p99"] {
            assert!(json["end_to_end"][side]["response_time"][key].is_number());
        }
    }
    assert_eq!(json["window_length"], 10.0);
    assert!(json["assumptions"].as_array().unwrap().len() >= 4);
}

#[test]
fn html_is_self_contained_with_plots() {
    let (load, stations) = window();
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();
    let sweep = render::Sweep {
        measured: vec![render::SweepPoint {
            rate: 1000.0,
            mean_response_time: 0.0023,
            p99_response_time: 0.01,
        }],
        predicted: predicted_sweep(&Topology::reference(), 100e-6, 10).unwrap(),
    };
    let page = render::html(&report, Some(&sweep));
    // One sweep plot, one end-to-end spectrum and six station spectra.
    assert_eq!(page.matches("<svg").count(), 8);
    assert!(!page.contains("<script"));
    assert!(!page.contains("http://"));
    assert!(!page.contains("https://"));
}

#[test]
fn predicted_sweep_rises_to_saturation() {
    let curve = predicted_sweep(&Topology::reference(), 0.0, 20).unwrap();
    assert_eq!(curve.len(), 20);
    assert!((curve[19].rate - 0.98 * 8000.0 / 3.0).abs() < 1e-6);
    for pair in curve.windows(2) {
        assert!(pair[1].mean_response_time > pair[0].mean_response_time);
    }
    // At 98 % of saturation, payment alone waits 49 times its 1.25 ms service on average.
    assert!(curve[19].mean_response_time > 0.3 * 0.049);
}

#[test]
fn corrupt_histogram_names_sender() {
    let error = decode_histogram(b"not a histogram", "payment", "sojourn_time_ns").unwrap_err();
    assert!(matches!(error, HistogramError::Corrupt { .. }));
    assert!(error.to_string().contains("payment"));

    let huge = vec![0u8; MAX_HISTOGRAM_BYTES + 1];
    let error = decode_histogram(&huge, "order", "latency_ns").unwrap_err();
    assert!(matches!(error, HistogramError::TooLarge { .. }));
    assert!(error.to_string().contains("order"));
}

#[test]
fn serialized_histogram_round_trips() {
    let histogram = constant(123_456, 42);
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(&histogram, &mut bytes)
        .unwrap();
    let decoded = decode_histogram(&bytes, "user", "service_time_ns").unwrap();
    assert_eq!(decoded.len(), 42);
    assert_eq!(
        decoded.value_at_quantile(0.5),
        histogram.value_at_quantile(0.5)
    );
}

#[test]
fn empty_window_is_rejected() {
    let (mut load, stations) = window();
    load.sent = 0;
    assert!(compare(&Topology::reference(), "reference", &load, &stations).is_err());
}

#[test]
fn overhead_spread_from_variances() {
    let (load, mut stations) = window();
    // Calls from the gateway: half at 500 µs and half at 700 µs against a
    // constant 500 µs handling time, so the overhead has mean 100 µs and
    // standard deviation 100 µs.
    let StationInput::Measured(gateway) = &mut stations[0] else {
        unreachable!()
    };
    for call in &mut gateway.calls {
        let mut latency = constant(500_000, 50);
        latency.record_n(700_000, 50).unwrap();
        call.latency_ns = latency;
    }
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    let from_gateway: Vec<_> = report
        .transport_overhead
        .calls
        .iter()
        .filter(|c| c.from == "api-gateway")
        .collect();
    assert_eq!(from_gateway.len(), 3);
    for call in from_gateway {
        assert!((call.overhead - 100e-6).abs() < 1e-6, "{call:?}");
        assert!((call.overhead_stdev - 100e-6).abs() < 1e-6, "{call:?}");
    }
    let constant_calls: Vec<_> = report
        .transport_overhead
        .calls
        .iter()
        .filter(|c| c.from != "api-gateway")
        .collect();
    for call in constant_calls {
        assert!(call.overhead_stdev < 1e-6, "{call:?}");
    }
}

#[test]
fn dispatch_delay_shifts_prediction() {
    let (load, mut stations) = window();
    let StationInput::Measured(payment) = &mut stations[4] else {
        unreachable!()
    };
    payment.dispatch_delay_ns = constant(20_000, 3000);
    let report = compare(&Topology::reference(), "reference", &load, &stations).unwrap();

    // Payment: W = 1/500 s plus the 20 µs dispatch delay; p99 = ln(100)/500 s plus 20 µs.
    let payment = &report.stations[4];
    let predicted = payment.predicted.as_ref().unwrap();
    assert!((payment.dispatch_delay.unwrap() - 20e-6).abs() < 1e-8);
    assert!((predicted.mean_sojourn_time - 0.002_02).abs() < 1e-8);
    assert!((predicted.sojourn_time.p99 - (100f64.ln() / 500.0 + 20e-6)).abs() < 1e-8);
    // Other stations report none, so their predictions stay unshifted.
    assert_eq!(report.stations[0].dispatch_delay, Some(0.0));
}
