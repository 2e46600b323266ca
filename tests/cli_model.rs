//! `queuelab model`, `mm1` and `mmc` as a user runs them.

use std::process::{Command, Output};

use serde_json::Value;

fn queuelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(args)
        .output()
        .expect("queuelab runs")
}

fn json(args: &[&str]) -> Value {
    let output = queuelab(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

#[test]
fn model_default_prints_reference_answers() {
    let output = queuelab(&["model"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("end to end: mean 2.000 ms"), "{text}");
    assert!(
        text.contains("bottleneck: payment; largest stable external rate 2666.7/s"),
        "{text}"
    );
    for visits in ["1.000", "0.300", "0.400", "0.960"] {
        assert!(
            text.contains(visits),
            "visit ratio {visits} missing:\n{text}"
        );
    }
}

#[test]
fn model_json_keys_and_values() {
    let report = json(&["model", "--json"]);
    assert_eq!(number(&report["external_rate"]), 1000.0);
    assert_eq!(report["bottleneck"], "payment");
    assert!((number(&report["max_external_rate"]) - 8000.0 / 3.0).abs() < 1e-9);

    let stations = report["stations"].as_array().unwrap();
    let expected = [
        ("api-gateway", 3, 5000.0, 1.0),
        ("user", 2, 2000.0, 0.3),
        ("product", 2, 1500.0, 0.4),
        ("order", 2, 1000.0, 0.3),
        ("payment", 1, 800.0, 0.3),
        ("database", 1, 3000.0, 0.96),
    ];
    assert_eq!(stations.len(), expected.len());
    for (station, (name, servers, rate, visits)) in stations.iter().zip(expected) {
        assert_eq!(station["name"], name);
        assert_eq!(station["servers"], servers);
        assert_eq!(number(&station["service_rate"]), rate);
        assert!((number(&station["visit_ratio"]) - visits).abs() < 1e-12);
        assert!((number(&station["arrival_rate"]) - 1000.0 * visits).abs() < 1e-9);
        let utilization = 1000.0 * visits / (servers as f64 * rate);
        assert!((number(&station["utilization"]) - utilization).abs() < 1e-12);
        assert!(station["mean_waiting_time"].is_number());
        for key in ["p50", "p90", "p99"] {
            assert!(
                station["sojourn_time"][key].is_number(),
                "{name} sojourn_time.{key}"
            );
        }
    }
    // Payment is M/M/1 with λ = 300/s, μ = 800/s: W = 1/500 s, p99 = ln(100)/500 s.
    assert!((number(&stations[4]["mean_sojourn_time"]) - 0.002).abs() < 1e-12);
    assert!((number(&stations[4]["sojourn_time"]["p99"]) - 100f64.ln() / 500.0).abs() < 1e-9);

    let end_to_end = &report["end_to_end"];
    assert!((number(&end_to_end["mean_response_time"]) - 0.001_999_918_883_94).abs() < 1e-12);
    for key in ["p50", "p90", "p99"] {
        assert!(
            end_to_end["response_time"][key].is_number(),
            "response_time.{key}"
        );
    }
}

#[test]
fn model_rate_replaces_external_rate() {
    let report = json(&["model", "--json", "--rate", "2000"]);
    assert_eq!(number(&report["external_rate"]), 2000.0);
    assert!((number(&report["stations"][4]["utilization"]) - 0.75).abs() < 1e-12);
}

#[test]
fn model_unstable_rate_is_a_result() {
    let report = json(&["model", "--json", "--rate", "3000"]);
    assert!(report["end_to_end"].is_null());
    let payment = &report["stations"][4];
    assert_eq!(payment["stable"], false);
    assert_eq!(payment["overload"]["min_servers_for_stability"], 2);
}

#[test]
fn mm1_unstable_example() {
    let report = json(&[
        "mm1",
        "--arrival-rate",
        "10000",
        "--service-time",
        "2.5ms",
        "--json",
    ]);
    assert_eq!(report["stable"], false);
    assert_eq!(report["min_servers_for_stability"], 26);
    assert_eq!(report["servers_for_target_utilization"], 36);
    assert!((number(&report["utilization"]) - 25.0).abs() < 1e-12);

    let text = String::from_utf8(
        queuelab(&["mm1", "--arrival-rate", "10000", "--service-time", "2.5ms"]).stdout,
    )
    .unwrap();
    assert!(text.contains("unstable"), "{text}");
    assert!(text.contains("26"), "{text}");
    assert!(text.contains("36"), "{text}");
}

#[test]
fn mmc_json_keys_by_hand() {
    // M/M/1 as mmc with c = 1: λ = 800/s, μ = 1000/s gives L = 4, W = 5 ms.
    let report = json(&[
        "mmc",
        "--servers",
        "1",
        "--arrival-rate",
        "800",
        "--service-rate",
        "1000",
        "--json",
    ]);
    assert_eq!(report["stable"], true);
    assert!((number(&report["utilization"]) - 0.8).abs() < 1e-12);
    assert!((number(&report["p0"]) - 0.2).abs() < 1e-12);
    assert!((number(&report["probability_of_waiting"]) - 0.8).abs() < 1e-12);
    assert!((number(&report["mean_queue_length"]) - 3.2).abs() < 1e-9);
    assert!((number(&report["mean_number_in_system"]) - 4.0).abs() < 1e-9);
    assert!((number(&report["mean_waiting_time"]) - 0.004).abs() < 1e-12);
    assert!((number(&report["mean_sojourn_time"]) - 0.005).abs() < 1e-12);
    assert!((number(&report["sojourn_time"]["p99"]) - 100f64.ln() / 200.0).abs() < 1e-9);
}

#[test]
fn mmc_capacity_reports_loss() {
    let report = json(&[
        "mmc",
        "--servers",
        "2",
        "--arrival-rate",
        "3",
        "--service-rate",
        "1",
        "--capacity",
        "5",
        "--json",
    ]);
    assert!((number(&report["probability_of_loss"]) - 15.1875 / 40.5625).abs() < 1e-12);
}

#[test]
fn bad_input_exits_with_two() {
    let cases: [&[&str]; 6] = [
        &["model", "--rate", "0"],
        &["model", "--rate", "-5"],
        &["model", "--topology", "/nonexistent/topology.toml"],
        &["mm1", "--arrival-rate", "10", "--service-time", "2.5"],
        &[
            "mmc",
            "--servers",
            "0",
            "--arrival-rate",
            "1",
            "--service-rate",
            "1",
        ],
        &[
            "mmc",
            "--servers",
            "3",
            "--arrival-rate",
            "1",
            "--service-rate",
            "1",
            "--capacity",
            "2",
        ],
    ];
    for args in cases {
        let output = queuelab(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(
            message.contains("invalid") || message.contains("failed"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn bad_topology_names_file_and_line() {
    let directory = std::env::temp_dir().join(format!("queuelab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("bad.toml");
    std::fs::write(
        &path,
        "[[station]]\nname = \"a\"\nservers = 1\nservice_rate = -2.0\n",
    )
    .unwrap();
    let output = queuelab(&["model", "--topology", path.to_str().unwrap()]);
    std::fs::remove_dir_all(&directory).unwrap();

    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("bad.toml:4:"), "{message}");
    assert!(message.contains("service_rate = -2"), "{message}");
}

#[test]
fn md1_by_pollaczek_khinchine() {
    // λ = 500/s, D = 1 ms: ρ = 0.5, Wq = ρD/(2(1−ρ)) = 0.5 ms, W = 1.5 ms.
    let report = json(&[
        "mg1",
        "--arrival-rate",
        "500",
        "--service-time",
        "1ms",
        "--scv",
        "0",
        "--json",
    ]);
    assert_eq!(report["model"], "M/D/1");
    assert!((number(&report["mean_waiting_time"]) - 0.0005).abs() < 1e-12);
    assert!((number(&report["mean_sojourn_time"]) - 0.0015).abs() < 1e-12);
    assert!((number(&report["mean_queue_length"]) - 0.25).abs() < 1e-12);
    // Erlang's M/D/1 waiting-time CDF, solved with mpmath: sojourn p99 = 4.33626 ms.
    assert!((number(&report["sojourn_time"]["p99"]) - 0.004_336_26).abs() < 0.004_336 * 1e-3);
}

#[test]
fn mg1_unstable_needs_servers() {
    let report = json(&[
        "mg1",
        "--arrival-rate",
        "2000",
        "--service-time",
        "1ms",
        "--scv",
        "0.5",
        "--json",
    ]);
    assert_eq!(report["stable"], false);
    assert_eq!(report["min_servers_for_stability"], 3);
}
