//! Reading topology files: the reference, and every kind of bad input.

use queuelab_topology::{ServiceDistribution, Topology, TopologyError};

fn parse(text: &str) -> Result<Topology, TopologyError> {
    Topology::from_toml_str(text, "test.toml")
}

/// Returns the error message, which must start with the file name and a line.
fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(topology) => panic!("expected an error, parsed {topology:?}"),
        Err(error) => error.to_string(),
    }
}

const MINIMAL: &str = r#"
[[station]]
name = "front"
servers = 2
service_rate = 100.0

[[station]]
name = "back"
servers = 1
mean_service_time = "2.5ms"

[[call]]
from = "front"
to = "back"
probability = 0.5

[[arrival]]
station = "front"
rate = 50.0
"#;

#[test]
fn reference_has_six_stations() {
    let topology = Topology::reference();
    let names: Vec<&str> = topology.stations.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "api-gateway",
            "user",
            "product",
            "order",
            "payment",
            "database"
        ]
    );
    assert_eq!(topology.calls.len(), 8);
    assert_eq!(topology.external_rate(), 1000.0);
    let payment = topology.station("payment").unwrap();
    assert_eq!(payment.servers, 1);
    assert_eq!(payment.service_rate, 800.0);
    assert_eq!(payment.address.as_deref(), Some("127.0.0.1:50055"));
    let order_calls: Vec<(&str, f64)> = topology
        .calls_from("order")
        .map(|c| (c.to.as_str(), c.probability))
        .collect();
    assert_eq!(order_calls, [("payment", 1.0), ("database", 0.9)]);
}

#[test]
fn reference_visit_ratios() {
    let ratios = Topology::reference()
        .to_network()
        .unwrap()
        .visit_ratios()
        .unwrap();
    let expected = [1.0, 0.3, 0.4, 0.3, 0.3, 0.96];
    for (got, want) in ratios.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{ratios:?}");
    }
}

#[test]
fn mean_service_time_becomes_rate() {
    let topology = parse(MINIMAL).unwrap();
    let back = topology.station("back").unwrap();
    assert!((back.service_rate - 400.0).abs() < 1e-9);
    assert_eq!(back.distribution, ServiceDistribution::Exponential);
    assert_eq!(back.capacity, None);
}

#[test]
fn distributions_and_capacity() {
    let text = MINIMAL.replace(
        "mean_service_time = \"2.5ms\"",
        "mean_service_time = \"2.5ms\"\ndistribution = \"gamma\"\nscv = 0.25\ncapacity = 8",
    );
    let back = parse(&text).unwrap().station("back").unwrap().clone();
    assert_eq!(back.distribution, ServiceDistribution::Gamma { scv: 0.25 });
    assert_eq!(back.capacity, Some(8));

    let text = MINIMAL.replace(
        "service_rate = 100.0",
        "service_rate = 100.0\ndistribution = \"deterministic\"",
    );
    let front = parse(&text).unwrap().station("front").unwrap().clone();
    assert_eq!(front.distribution, ServiceDistribution::Deterministic);
}

#[test]
fn not_toml_names_line() {
    let message = error_of("[[station]]\nname = \"a\nservers = 1\n");
    assert!(message.starts_with("test.toml:2:"), "{message}");
}

#[test]
fn unknown_field_is_rejected() {
    let text = MINIMAL.replace("servers = 2", "servers = 2\nthreads = 4");
    let message = error_of(&text);
    assert!(message.starts_with("test.toml:5:"), "{message}");
    assert!(message.contains("threads"), "{message}");
}

#[test]
fn unknown_station_in_call() {
    let text = MINIMAL.replace("to = \"back\"", "to = \"bakc\"");
    let message = error_of(&text);
    assert!(message.starts_with("test.toml:14:"), "{message}");
    assert!(message.contains("unknown station \"bakc\""), "{message}");
    assert!(
        message.contains("\"back\""),
        "the fix lists the known names: {message}"
    );
}

#[test]
fn unknown_station_in_arrival() {
    let text = MINIMAL.replace("station = \"front\"", "station = \"gateway\"");
    assert!(error_of(&text).contains("unknown station \"gateway\""));
}

#[test]
fn duplicate_name_points_at_both() {
    let text = MINIMAL.replace("name = \"back\"", "name = \"front\"");
    let message = error_of(&text);
    assert!(message.starts_with("test.toml:8:"), "{message}");
    assert!(message.contains("first defined on line 3"), "{message}");
}

#[test]
fn zero_or_negative_values_rejected() {
    let cases = [
        ("servers = 2", "servers = 0", "servers = 0"),
        ("servers = 2", "servers = -3", "servers = -3"),
        (
            "service_rate = 100.0",
            "service_rate = 0.0",
            "service_rate = 0",
        ),
        (
            "service_rate = 100.0",
            "service_rate = -5.0",
            "service_rate = -5",
        ),
        ("rate = 50.0", "rate = 0.0", "rate = 0"),
        (
            "mean_service_time = \"2.5ms\"",
            "mean_service_time = \"0ms\"",
            "greater than 0",
        ),
    ];
    for (from, to, expected) in cases {
        let message = error_of(&MINIMAL.replace(from, to));
        assert!(message.contains(expected), "{to}: {message}");
    }
}

#[test]
fn probability_outside_unit_interval() {
    for bad in ["1.5", "-0.1"] {
        let message =
            error_of(&MINIMAL.replace("probability = 0.5", &format!("probability = {bad}")));
        assert!(message.starts_with("test.toml:15:"), "{message}");
        assert!(message.contains("[0, 1]"), "{message}");
    }
}

#[test]
fn rate_and_mean_time_conflict() {
    let text = MINIMAL.replace(
        "service_rate = 100.0",
        "service_rate = 100.0\nmean_service_time = \"1ms\"",
    );
    assert!(error_of(&text).contains("keep one of them"));
    let text = MINIMAL.replace("service_rate = 100.0", "");
    assert!(error_of(&text).contains("has no service rate"));
}

#[test]
fn capacity_below_servers() {
    let text = MINIMAL.replace("servers = 2", "servers = 2\ncapacity = 1");
    assert!(error_of(&text).contains("at least servers = 2"));
}

#[test]
fn bad_distribution_and_scv() {
    let text = MINIMAL.replace("servers = 2", "servers = 2\ndistribution = \"pareto\"");
    assert!(error_of(&text).contains("unknown distribution \"pareto\""));
    let text = MINIMAL.replace("servers = 2", "servers = 2\ndistribution = \"gamma\"");
    assert!(error_of(&text).contains("without scv"));
    let text = MINIMAL.replace("servers = 2", "servers = 2\nscv = 0.5");
    assert!(error_of(&text).contains("applies only to \"gamma\""));
}

#[test]
fn bad_address() {
    let text = MINIMAL.replace("servers = 2", "servers = 2\naddress = \"localhost\"");
    assert!(error_of(&text).contains("write host:port"));
}

#[test]
fn missing_sections() {
    assert!(error_of("").contains("no stations"));
    let text = MINIMAL.split("[[arrival]]").next().unwrap();
    assert!(error_of(text).contains("no external arrivals"));
}

#[test]
fn divergent_cycle_rejected() {
    let text = format!("{MINIMAL}\n[[call]]\nfrom = \"back\"\nto = \"front\"\nprobability = 1.0\n")
        .replace("probability = 0.5", "probability = 1.0");
    let message = error_of(&text);
    assert!(message.contains("gain is 1 or more"), "{message}");
}

#[test]
fn missing_file_names_path() {
    let error =
        Topology::from_path(std::path::Path::new("/nonexistent/topology.toml")).unwrap_err();
    assert!(error.to_string().contains("/nonexistent/topology.toml"));
}
