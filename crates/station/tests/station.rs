//! The station handle without gRPC: FCFS order, deadlines and window figures.

use std::time::{Duration, Instant};

use queuelab_station::station::DEFAULT_HOLD_ERROR_P99;
use queuelab_station::{ServiceTimeDistribution, Station, StationSpec, VisitError};

/// A station with `servers` servers whose every service takes `service`.
fn deterministic_station(name: &str, servers: u32, service: Duration) -> Station {
    Station::start(StationSpec {
        name: name.to_owned(),
        servers,
        distribution: ServiceTimeDistribution::Deterministic {
            value_s: service.as_secs_f64(),
        },
        capacity: None,
        calls: Vec::new(),
        seed: 1,
        hold_error_p99: DEFAULT_HOLD_ERROR_P99,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_drops_waiting_request() {
    let station = deterministic_station("payment", 1, Duration::from_millis(300));
    station.start_window(1);

    // The first request holds the only server for 300 ms.
    let first = {
        let station = station.clone();
        tokio::spawn(async move { station.visit(Instant::now(), None).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;

    // The second waits behind it with a 30 ms deadline, which passes first.
    let arrival = Instant::now();
    let second = station
        .visit(arrival, Some(arrival + Duration::from_millis(30)))
        .await;
    assert!(
        matches!(second, Err(VisitError::DeadlineExceeded { .. })),
        "second visit: {second:?}"
    );

    let served = first.await.unwrap().unwrap();
    assert!(served.service >= Duration::from_millis(300));

    // The expired request leaves the queue when the server frees up.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let figures = station.end_window().unwrap();
    assert_eq!(figures.arrivals, 2);
    assert_eq!(figures.completions, 1);
    assert_eq!(figures.deadline_drops, 1);
    assert_eq!(station.present(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_request_skips_free_server() {
    let station = deterministic_station("order", 1, Duration::from_millis(50));
    station.start_window(2);

    // The deadline passed before the visit began: the free server stays free.
    let arrival = Instant::now();
    let visit = station
        .visit(arrival, Some(arrival - Duration::from_millis(1)))
        .await;
    assert!(
        matches!(visit, Err(VisitError::DeadlineExceeded { .. })),
        "visit: {visit:?}"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;

    let figures = station.end_window().unwrap();
    assert_eq!(figures.arrivals, 1);
    assert_eq!(figures.completions, 0);
    assert_eq!(figures.deadline_drops, 1);
    assert_eq!(figures.busy_server_ns, 0);
    assert_eq!(station.present(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_serves_in_arrival_order() {
    let station = deterministic_station("database", 1, Duration::from_millis(20));

    // Five requests arrive about 2 ms apart (tokio's timer may stretch a
    // sleep to 3-4 ms) while each service takes 20 ms. FCFS serves them in
    // arrival order, so each waits longer than the one before.
    let mut visits = Vec::new();
    for _ in 0..5 {
        let station = station.clone();
        visits.push(tokio::spawn(async move {
            station.visit(Instant::now(), None).await
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut waits = Vec::new();
    for visit in visits {
        waits.push(visit.await.unwrap().unwrap().waiting);
    }

    for pair in waits.windows(2) {
        assert!(pair[0] < pair[1], "waiting times not increasing: {waits:?}");
    }
    // The last request waits for four 20 ms services minus its 8-16 ms
    // later arrival; the upper bound allows for a busy machine.
    assert!(waits[4] >= Duration::from_millis(60), "waits: {waits:?}");
    assert!(waits[4] <= Duration::from_millis(200), "waits: {waits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_time_sums_service_times() {
    let station = deterministic_station("user", 2, Duration::from_millis(10));
    station.start_window(5);

    let mut visits = Vec::new();
    for _ in 0..10 {
        let station = station.clone();
        visits.push(tokio::spawn(async move {
            station.visit(Instant::now(), None).await
        }));
    }
    let mut service_total = Duration::ZERO;
    for visit in visits {
        service_total += visit.await.unwrap().unwrap().service;
    }
    let figures = station.end_window().unwrap();

    // Ten 10 ms services: at least 100 ms busy, and busy time is the sum of
    // the realized service times (within the 1 ns rounding of each).
    assert_eq!(figures.window_id, 5);
    assert_eq!(figures.completions, 10);
    assert!(figures.busy_server_ns >= 100_000_000);
    let difference = figures
        .busy_server_ns
        .abs_diff(service_total.as_nanos() as u64);
    assert!(
        difference <= 10,
        "busy {} ns, services {service_total:?}",
        figures.busy_server_ns
    );
}

#[tokio::test]
async fn window_needs_start_before_end() {
    let station = deterministic_station("order", 1, Duration::from_millis(1));
    assert!(station.end_window().is_none());
    assert!(station.current_window().is_none());
}

#[test]
fn invalid_spec_is_rejected() {
    let spec = StationSpec {
        name: "order".to_owned(),
        servers: 2,
        distribution: ServiceTimeDistribution::Exponential { mean_s: 0.001 },
        capacity: Some(1),
        calls: Vec::new(),
        seed: 1,
        hold_error_p99: DEFAULT_HOLD_ERROR_P99,
    };
    let error = Station::start(spec).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("capacity K = 1 is below servers c = 2"),
        "{error}"
    );
}

#[test]
fn hold_target_above_maximum_is_rejected() {
    let spec = StationSpec {
        name: "payment".to_owned(),
        servers: 1,
        distribution: ServiceTimeDistribution::Exponential { mean_s: 0.001 },
        capacity: None,
        calls: Vec::new(),
        seed: 1,
        hold_error_p99: Duration::from_millis(2),
    };
    let error = Station::start(spec).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("hold error p99 target 2000 µs is above the 1000 µs maximum"),
        "{error}"
    );
}
