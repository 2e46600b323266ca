//! A short `queuelab demo` run end to end: the mesh and the analysis service as
//! child processes, a low Poisson load, and the report it writes.

use std::process::Command;

use serde_json::Value;

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

#[test]
fn short_demo_writes_consistent_report() {
    let out = std::env::temp_dir().join(format!("queuelab-demo-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args([
            "demo",
            "--rate",
            "150",
            "--duration",
            "4s",
            "--warmup",
            "1s",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("queuelab runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("end to end"), "{stdout}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    assert!(html.contains("<svg"));

    // Every request the load generator sent ended in one status or another.
    let counts = &report["counts"];
    let errors: u64 = counts["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        counts["sent"].as_u64().unwrap(),
        counts["completed"].as_u64().unwrap() + errors
    );
    assert_eq!(
        errors, 0,
        "no request should fail at 150/s: {}",
        counts["errors"]
    );

    let external_rate = number(&report["external_rate"]);
    assert!(
        (external_rate - 150.0).abs() < 150.0 * 0.25,
        "external rate {external_rate}"
    );

    for station in report["stations"].as_array().unwrap() {
        let name = station["name"].as_str().unwrap();
        assert_eq!(station["status"], "measured", "{name}");
        let measured = &station["measured"];
        let station_counts = &station["counts"];
        let arrivals = station_counts["arrivals"].as_u64().unwrap() as f64;
        let completions = station_counts["completions"].as_u64().unwrap() as f64;
        // Requests in service when the window opened complete inside it
        // without arriving in it; a station holds at most a handful at 150/s.
        assert!(
            (completions - arrivals).abs() <= 10.0,
            "{name}: {arrivals} arrivals, {completions} completions"
        );

        // Utilization from busy server-seconds agrees with λ × E[S] / c.
        let servers = reference_servers(name);
        let from_rate =
            number(&measured["arrival_rate"]) * number(&measured["mean_service_time"]) / servers;
        let utilization = number(&measured["utilization"]);
        assert!(
            (utilization - from_rate).abs() <= 0.1 * from_rate + 0.002,
            "{name}: utilization {utilization}, λ·E[S]/c {from_rate}"
        );

        for key in ["p50", "p90", "p99"] {
            assert!(measured["sojourn_time"][key].is_number(), "{name} {key}");
            assert!(
                station["predicted"]["sojourn_time"][key].is_number(),
                "{name} {key}"
            );
        }
    }

    for side in ["measured", "predicted"] {
        assert!(number(&report["end_to_end"][side]["mean_response_time"]) > 0.0);
    }
    assert!(report["assumptions"].as_array().unwrap().len() >= 4);

    // Every station ran an agent; a host-wide indicator is listed once, naming its stations.
    let indicators = report["indicators"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for indicator in indicators {
        let key = (
            indicator["name"].to_string(),
            indicator["subject"].to_string(),
            indicator["message"].to_string(),
        );
        assert!(seen.insert(key), "repeated indicator {indicator}");
    }
}

/// Servers c of the reference stations.
fn reference_servers(station: &str) -> f64 {
    match station {
        "api-gateway" => 3.0,
        "user" | "product" | "order" => 2.0,
        "payment" | "database" => 1.0,
        other => panic!("unknown station {other}"),
    }
}

#[test]
fn demo_rejects_bad_rate() {
    let output = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["demo", "--rate", "0"])
        .output()
        .expect("queuelab runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid rate"));
}
