//! One experiment against a mesh served in this process, on ports the OS picks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use queuelab_analysis_service::{AnalysisConfig, serve};
use queuelab_proto::v1::analysis_client::AnalysisClient;
use queuelab_proto::v1::storefront_client::StorefrontClient;
use queuelab_proto::v1::{
    FinishExperimentRequest, GetReportRequest, LoadFigures, StartExperimentRequest, StatusCount,
    StorefrontRequest,
};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::names;
use queuelab_topology::Topology;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::Code;

/// Requests sent through the gateway per experiment, a multiple of the 8 sent at a time.
const REQUESTS: u64 = 1600;

struct Mesh {
    addresses: BTreeMap<String, String>,
    stops: BTreeMap<String, oneshot::Sender<()>>,
    analysis: String,
}

async fn start_mesh(topology: &Topology) -> Mesh {
    let mut listeners = BTreeMap::new();
    for station in &topology.stations {
        listeners.insert(
            station.name.clone(),
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
        );
    }
    let addresses: BTreeMap<String, String> = listeners
        .iter()
        .map(|(name, l)| (name.clone(), l.local_addr().unwrap().to_string()))
        .collect();

    let mut stops = BTreeMap::new();
    for (name, listener) in listeners {
        let mut config =
            ServiceConfig::new(&name, topology.clone(), listener.local_addr().unwrap());
        config.peers = addresses.clone();
        config.seed = 7;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        match name.as_str() {
            names::API_GATEWAY => drop(tokio::spawn(queuelab_api_gateway::serve_on(
                config, listener, shutdown,
            ))),
            names::USER => drop(tokio::spawn(queuelab_user::serve_on(
                config, listener, shutdown,
            ))),
            names::PRODUCT => drop(tokio::spawn(queuelab_product::serve_on(
                config, listener, shutdown,
            ))),
            names::ORDER => drop(tokio::spawn(queuelab_order::serve_on(
                config, listener, shutdown,
            ))),
            names::PAYMENT => drop(tokio::spawn(queuelab_payment::serve_on(
                config, listener, shutdown,
            ))),
            names::DATABASE => drop(tokio::spawn(queuelab_database::serve_on(
                config, listener, shutdown,
            ))),
            other => panic!("no service for {other}"),
        }
        stops.insert(name, stop);
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let analysis = listener.local_addr().unwrap().to_string();
    let config = AnalysisConfig {
        topology: topology.clone(),
        topology_origin: "reference".into(),
        stations: addresses.clone(),
    };
    tokio::spawn(serve(config, listener, std::future::pending()));
    Mesh {
        addresses,
        stops,
        analysis,
    }
}

/// Sends `requests` (a multiple of 8) requests through the gateway, eight at a time, and returns
/// the load figures with each request's latency.
async fn send_load(gateway: &str, requests: u64) -> LoadFigures {
    let client = StorefrontClient::connect(format!("http://{gateway}"))
        .await
        .unwrap();
    let start = Instant::now();
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut statuses: BTreeMap<i32, u64> = BTreeMap::new();
    for batch in 0..requests / 8 {
        let mut tasks = Vec::new();
        for index in 0..8 {
            let mut client = client.clone();
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let mut request = tonic::Request::new(StorefrontRequest {
                    request_id: batch * 8 + index,
                    customer_id: index + 1,
                    product_id: batch % 100 + 1,
                    body: Vec::new(),
                });
                request.set_timeout(Duration::from_secs(10));
                let code = match client.handle_request(request).await {
                    Ok(_) => Code::Ok,
                    Err(status) => status.code(),
                };
                (code, sent.elapsed())
            }));
        }
        for task in tasks {
            let (code, latency) = task.await.unwrap();
            histogram.record(latency.as_nanos() as u64).unwrap();
            *statuses.entry(code as i32).or_insert(0) += 1;
        }
    }
    let mut latency_ns = Vec::new();
    V2Serializer::new()
        .serialize(&histogram, &mut latency_ns)
        .unwrap();
    LoadFigures {
        window_length_ns: start.elapsed().as_nanos() as u64,
        sent: requests,
        completed: statuses.get(&0).copied().unwrap_or(0),
        statuses: statuses
            .into_iter()
            .map(|(code, count)| StatusCount { code, count })
            .collect(),
        dropped_by_cap: 0,
        latency_ns,
    }
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiment_report_is_consistent() {
    let topology = Topology::reference();
    let mesh = start_mesh(&topology).await;
    let mut analysis = AnalysisClient::connect(format!("http://{}", mesh.analysis))
        .await
        .unwrap();

    let started = analysis
        .start_experiment(StartExperimentRequest { experiment_id: 1 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.started.len(), 6, "{started:?}");
    assert!(started.missing.is_empty());

    let load = send_load(&mesh.addresses["api-gateway"], REQUESTS).await;
    let reply = analysis
        .finish_experiment(FinishExperimentRequest {
            experiment_id: 1,
            load: Some(load),
        })
        .await
        .unwrap()
        .into_inner();
    let report: Value = serde_json::from_str(&reply.report_json).unwrap();
    assert!(reply.table.contains("end to end"));
    assert!(reply.html.contains("<svg"));

    assert_eq!(report["counts"]["sent"], REQUESTS);
    assert_eq!(
        report["counts"]["completed"], REQUESTS,
        "errors: {}",
        report["counts"]["errors"]
    );
    let window = number(&report["window_length"]);
    let external_rate = number(&report["external_rate"]);
    assert!((external_rate * window - REQUESTS as f64).abs() < 1e-6);

    // Visits per request against the visit ratios, within 4.5 standard
    // deviations. Each station but the database is visited at most once per
    // request, a Bernoulli(v) count. The database count is U·A + P·B + O·(C + E)
    // with independent Bernoulli draws U .3, A .8, P .4, B .6, O .3, C .9, E .7;
    // worked by hand its variance is 2 × 0.24 × 0.76 + (0.3 × 2.86 − 0.48²) = 0.9924.
    let visits_and_variance = [
        (1.0, 0.0),
        (0.3, 0.21),
        (0.4, 0.24),
        (0.3, 0.21),
        (0.3, 0.21),
        (0.96, 0.9924),
    ];
    for (station, (visits, variance)) in report["stations"]
        .as_array()
        .unwrap()
        .iter()
        .zip(visits_and_variance)
    {
        assert_eq!(station["status"], "measured", "{}", station["name"]);
        let measured = &station["measured"];
        let counts = &station["counts"];
        let arrivals = number(&counts["arrivals"]);
        // Every arrival completes: no capacity limits and no deadline drops here.
        assert_eq!(
            counts["completions"], counts["arrivals"],
            "{}",
            station["name"]
        );
        assert!(number(&counts["window_length"]) >= window);
        let expected = REQUESTS as f64 * visits;
        let sigma = (REQUESTS as f64 * variance).sqrt();
        assert!(
            (arrivals - expected).abs() <= 4.5 * sigma,
            "{}: {arrivals} arrivals, {expected} expected",
            station["name"]
        );

        // Utilization = busy server-seconds / (c × window) must equal
        // arrival rate × mean service time / c up to the requests in service
        // at the window's edges.
        let servers = topology
            .station(station["name"].as_str().unwrap())
            .unwrap()
            .servers as f64;
        let from_rate =
            number(&measured["arrival_rate"]) * number(&measured["mean_service_time"]) / servers;
        let utilization = number(&measured["utilization"]);
        assert!(
            (utilization - from_rate).abs() <= 0.05 * from_rate + 1e-4,
            "{}: {utilization} against {from_rate}",
            station["name"]
        );
    }
    assert!(number(&report["end_to_end"]["measured"]["mean_response_time"]) > 0.0);
    assert!(number(&report["end_to_end"]["predicted"]["mean_response_time"]) > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_station_is_reported_missing() {
    let topology = Topology::reference();
    let mut mesh = start_mesh(&topology).await;
    let mut analysis = AnalysisClient::connect(format!("http://{}", mesh.analysis))
        .await
        .unwrap();
    analysis
        .start_experiment(StartExperimentRequest { experiment_id: 2 })
        .await
        .unwrap();

    let load = send_load(&mesh.addresses["api-gateway"], 200).await;
    let _ = mesh.stops.remove("payment").unwrap().send(());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let reply = analysis
        .finish_experiment(FinishExperimentRequest {
            experiment_id: 2,
            load: Some(load),
        })
        .await
        .unwrap()
        .into_inner();
    let report: Value = serde_json::from_str(&reply.report_json).unwrap();
    let stations = report["stations"].as_array().unwrap();
    assert_eq!(stations[4]["name"], "payment");
    assert_eq!(stations[4]["status"], "missing");
    assert!(
        stations[4]["missing_reason"]
            .as_str()
            .unwrap()
            .contains("failed")
    );
    for (index, station) in stations.iter().enumerate() {
        if index != 4 {
            assert_eq!(station["status"], "measured", "{}", station["name"]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_load_histogram_is_invalid_argument() {
    let topology = Topology::reference();
    let mesh = start_mesh(&topology).await;
    let mut analysis = AnalysisClient::connect(format!("http://{}", mesh.analysis))
        .await
        .unwrap();
    analysis
        .start_experiment(StartExperimentRequest { experiment_id: 3 })
        .await
        .unwrap();

    let mut load = send_load(&mesh.addresses["api-gateway"], 200).await;
    load.latency_ns = b"not a histogram".to_vec();
    let status = analysis
        .finish_experiment(FinishExperimentRequest {
            experiment_id: 3,
            load: Some(load),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("load generator"),
        "{}",
        status.message()
    );

    let report = analysis
        .get_report(GetReportRequest {})
        .await
        .unwrap()
        .into_inner();
    let json: Value = serde_json::from_str(&report.report_json).unwrap();
    assert!(json["end_to_end"]["measured"].is_null());
    assert_eq!(json["stations"][0]["status"], "measured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_without_start_fails() {
    let mesh = start_mesh(&Topology::reference()).await;
    let mut analysis = AnalysisClient::connect(format!("http://{}", mesh.analysis))
        .await
        .unwrap();
    let status = analysis
        .finish_experiment(FinishExperimentRequest {
            experiment_id: 9,
            load: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}
