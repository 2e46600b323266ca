//! The mesh end to end, in one process: the six stations on ports the OS
//! picks, requests through the gateway, figures read back over the stats API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use queuelab_proto::v1::database_client::DatabaseClient;
use queuelab_proto::v1::order_service_client::OrderServiceClient;
use queuelab_proto::v1::payment_service_client::PaymentServiceClient;
use queuelab_proto::v1::station_stats_client::StationStatsClient;
use queuelab_proto::v1::storefront_client::StorefrontClient;
use queuelab_proto::v1::{
    ChargeRequest, EndWindowRequest, PlaceOrderRequest, ReadRowRequest, StartWindowRequest,
    StorefrontRequest, WindowFigures,
};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::names;
use queuelab_station::server::ServeError;
use queuelab_topology::Topology;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Code, Request};

/// Timeout of every request the tests send, so that no test can hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The stations of a topology, served in this process.
struct TestMesh {
    addresses: BTreeMap<String, SocketAddr>,
    shutdowns: BTreeMap<String, oneshot::Sender<()>>,
    tasks: BTreeMap<String, JoinHandle<Result<(), ServeError>>>,
}

impl TestMesh {
    /// Binds one listener per station on 127.0.0.1:0 and serves every station
    /// with the addresses of the others as its peers.
    async fn start(topology: &Topology, seed: u64) -> Self {
        let mut listeners = BTreeMap::new();
        for station in &topology.stations {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listeners.insert(station.name.clone(), listener);
        }
        let addresses: BTreeMap<String, SocketAddr> = listeners
            .iter()
            .map(|(name, listener)| (name.clone(), listener.local_addr().unwrap()))
            .collect();
        let peers: BTreeMap<String, String> = addresses
            .iter()
            .map(|(name, address)| (name.clone(), address.to_string()))
            .collect();

        let mut shutdowns = BTreeMap::new();
        let mut tasks = BTreeMap::new();
        for (name, listener) in listeners {
            let mut config = ServiceConfig::new(&name, topology.clone(), addresses[&name]);
            config.peers = peers.clone();
            config.seed = seed;
            let (stop, stopped) = oneshot::channel::<()>();
            let shutdown: Shutdown = Box::pin(async move {
                let _ = stopped.await;
            });
            tasks.insert(
                name.clone(),
                tokio::spawn(serve_on(config, listener, shutdown)),
            );
            shutdowns.insert(name, stop);
        }
        Self {
            addresses,
            shutdowns,
            tasks,
        }
    }

    fn address(&self, station: &str) -> String {
        format!("http://{}", self.addresses[station])
    }

    /// Stops one station and waits until it has drained.
    async fn stop(&mut self, station: &str) {
        self.addresses.remove(station);
        let _ = self.shutdowns.remove(station).unwrap().send(());
        let task = self.tasks.remove(station).unwrap();
        task.await.unwrap().unwrap();
    }

    async fn start_windows(&self) {
        for name in self.addresses.keys() {
            let mut client = StationStatsClient::connect(self.address(name))
                .await
                .unwrap();
            client
                .start_window(StartWindowRequest { window_id: 1 })
                .await
                .unwrap();
        }
    }

    async fn end_windows(&self) -> BTreeMap<String, WindowFigures> {
        let mut figures = BTreeMap::new();
        for name in self.addresses.keys() {
            let mut client = StationStatsClient::connect(self.address(name))
                .await
                .unwrap();
            let window = client
                .end_window(EndWindowRequest {})
                .await
                .unwrap()
                .into_inner();
            figures.insert(name.clone(), window);
        }
        figures
    }
}

fn serve_on(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> std::pin::Pin<Box<dyn Future<Output = Result<(), ServeError>> + Send>> {
    match config.station.as_str() {
        names::API_GATEWAY => Box::pin(queuelab_api_gateway::serve_on(config, listener, shutdown)),
        names::USER => Box::pin(queuelab_user::serve_on(config, listener, shutdown)),
        names::PRODUCT => Box::pin(queuelab_product::serve_on(config, listener, shutdown)),
        names::ORDER => Box::pin(queuelab_order::serve_on(config, listener, shutdown)),
        names::PAYMENT => Box::pin(queuelab_payment::serve_on(config, listener, shutdown)),
        names::DATABASE => Box::pin(queuelab_database::serve_on(config, listener, shutdown)),
        other => panic!("no service for station {other}"),
    }
}

fn decode(bytes: &[u8]) -> Histogram<u64> {
    Deserializer::new().deserialize(&mut &bytes[..]).unwrap()
}

/// Sends `count` requests through the gateway, evenly spaced at
/// `rate_per_s`, and returns the status code and message of each failure.
///
/// The rate stays well below the mesh's capacity (2666/s, set by payment),
/// so that on a shared 2-core machine the station threads get the CPU they
/// need to time the service holds.
async fn send_requests(gateway: String, count: u64, rate_per_s: f64) -> Vec<(Code, String)> {
    let client = StorefrontClient::connect(gateway).await.unwrap();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate_per_s));
    let mut requests = Vec::new();
    for id in 0..count {
        ticks.tick().await;
        let mut client = client.clone();
        requests.push(tokio::spawn(async move {
            let mut request = Request::new(StorefrontRequest {
                request_id: id,
                customer_id: id % 500,
                product_id: id % 70,
                body: vec![0; 64],
            });
            request.set_timeout(REQUEST_TIMEOUT);
            client.handle_request(request).await.map(|_| ())
        }));
    }

    let mut failures = Vec::new();
    for request in requests {
        if let Err(status) = request.await.unwrap() {
            failures.push((status.code(), status.message().to_owned()));
        }
    }
    failures
}

/// Serializes the tests of this file: each runs six stations, and running
/// them side by side on 2 cores would distort the measured service times.
static ONE_MESH_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Returns how many failures have `code`.
fn count_code(failures: &[(Code, String)], code: Code) -> usize {
    failures.iter().filter(|(c, _)| *c == code).count()
}

/// Checks that a station's service times, in nanoseconds, are exponential
/// with rate `rate_per_s`, given the histogram of how late each hold ended
/// (`lateness`, realized minus drawn).
///
/// The mean of the drawn times, the service-time mean minus the lateness
/// mean, must lie within 4 standard errors (mean/sqrt(k) for k samples) of
/// 1/μ, plus 0.2 % for the histograms' 3 significant digits.
///
/// A hold that the OS delayed by milliseconds would dominate the sample
/// variance, so the SCV is compared below the distribution's 99.9 % quantile
/// T = ln(1000)/μ, against the truncated exponential's exact moments
/// E[X | X ≤ T] and E[X² | X ≤ T]. Its bound is 4 standard errors of the
/// untruncated SCV (2/sqrt(k) by the delta method on s²/m²), which bound
/// the truncated one, plus 0.1 for the timing error of the holds.
fn check_exponential_service(
    station: &str,
    service: &Histogram<u64>,
    lateness: &Histogram<u64>,
    rate_per_s: f64,
) {
    let mu = rate_per_s / 1e9;
    let samples = service.len() as f64;

    let drawn_mean = service.mean() - lateness.mean();
    let mean_bound = 4.0 / mu / samples.sqrt() + 0.002 / mu;
    assert!(
        (drawn_mean - 1.0 / mu).abs() <= mean_bound,
        "{station}: drawn mean service time {drawn_mean:.0} ns, expected {:.0} ± {mean_bound:.0}",
        1.0 / mu
    );

    // Most holds end on time even on a busy machine.
    let median_lateness_ns = lateness.value_at_quantile(0.5);
    assert!(
        median_lateness_ns <= 50_000,
        "{station}: median hold lateness {median_lateness_ns} ns"
    );

    let cutoff_ns = 1000_f64.ln() / mu;
    let tail = (-mu * cutoff_ns).exp();
    let expected_mean = 1.0 / mu - cutoff_ns * tail / (1.0 - tail);
    let expected_square = (2.0 / mu.powi(2)
        - tail * (cutoff_ns.powi(2) + 2.0 * cutoff_ns / mu + 2.0 / mu.powi(2)))
        / (1.0 - tail);
    let expected_scv = expected_square / expected_mean.powi(2) - 1.0;

    let mut count = 0_u64;
    let mut sum = 0.0;
    let mut sum_squares = 0.0;
    for bucket in service.iter_recorded() {
        let value = service.median_equivalent(bucket.value_iterated_to()) as f64;
        if value > cutoff_ns {
            continue;
        }
        let k = bucket.count_at_value();
        count += k;
        sum += value * k as f64;
        sum_squares += value * value * k as f64;
    }
    let mean = sum / count as f64;
    let scv = (sum_squares / count as f64) / mean.powi(2) - 1.0;

    // Above T: 0.1 % of the samples expected, plus the holds that a busy
    // machine delayed by milliseconds, of which up to 2 % are allowed.
    let above = samples - count as f64;
    let above_bound = 0.001 * samples + 4.0 * (samples * 0.001).sqrt() + 0.02 * samples;
    assert!(
        above <= above_bound,
        "{station}: {above} of {samples} service times above {cutoff_ns:.0} ns"
    );

    let scv_bound = 4.0 * 2.0 / samples.sqrt() + 0.1;
    assert!(
        (scv - expected_scv).abs() <= scv_bound,
        "{station}: service-time SCV below T {scv:.3}, expected {expected_scv:.3} ± {scv_bound:.3}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesh_matches_visit_ratios_and_service_times() {
    let _guard = ONE_MESH_AT_A_TIME.lock().await;
    let topology = Topology::reference();
    let mesh = TestMesh::start(&topology, 42).await;
    mesh.start_windows().await;

    let requests = 3000_u64;
    let failures = send_requests(mesh.address(names::API_GATEWAY), requests, 400.0).await;
    assert!(
        failures.is_empty(),
        "failed requests: {:?}",
        &failures[..failures.len().min(5)]
    );
    let figures = mesh.end_windows().await;

    // Visit ratios from the traffic equations of the reference topology,
    // solved by hand: the database is visited 0.3·0.8 + 0.4·0.6 + 0.3·0.9 +
    // 0.3·0.7 = 0.96 times per request.
    let n = requests as f64;
    assert_eq!(figures[names::API_GATEWAY].arrivals, requests);
    assert_eq!(figures[names::API_GATEWAY].completions, requests);

    // Each of user, product and order is visited by one Bernoulli call of the
    // gateway, so its count is Binomial(n, p): allow 4 standard deviations.
    for (station, p) in [
        (names::USER, 0.3),
        (names::PRODUCT, 0.4),
        (names::ORDER, 0.3),
    ] {
        let visits = figures[station].arrivals as f64;
        let sigma = (n * p * (1.0 - p)).sqrt();
        assert!(
            (visits - n * p).abs() <= 4.0 * sigma,
            "{station}: {visits} visits, expected {} ± {:.0}",
            n * p,
            4.0 * sigma
        );
    }

    // Order calls payment with probability 1, so the counts agree exactly.
    assert_eq!(
        figures[names::PAYMENT].arrivals,
        figures[names::ORDER].arrivals
    );

    // Database visits per request: X1 + X2 + X3 with X1 ~ Bernoulli(0.3·0.8),
    // X2 ~ Bernoulli(0.4·0.6), X3 = O·(B3 + B4) with O ~ Bernoulli(0.3),
    // B3 ~ Bernoulli(0.9) (order's own call) and B4 ~ Bernoulli(0.7) (via
    // payment). Var X3 = 0.3·E[(B3 + B4)²] − (0.3·1.6)².
    let bernoulli_variance = |p: f64| p * (1.0 - p);
    let second_moment_b3_b4 = 0.9 + 0.7 + 2.0 * 0.9 * 0.7;
    let variance_x3 = 0.3 * second_moment_b3_b4 - (0.3_f64 * 1.6).powi(2);
    let variance = bernoulli_variance(0.24) + bernoulli_variance(0.24) + variance_x3;
    let database_visits = figures[names::DATABASE].arrivals as f64;
    let sigma = (n * variance).sqrt();
    assert!(
        (database_visits - 0.96 * n).abs() <= 4.0 * sigma,
        "database: {database_visits} visits, expected {} ± {:.0}",
        0.96 * n,
        4.0 * sigma
    );

    // Every station's service times follow its exponential distribution.
    for station in &topology.stations {
        let window = &figures[&station.name];
        let service = decode(&window.service_time_ns);
        assert_eq!(service.len(), window.completions, "{}", station.name);
        let lateness = decode(&window.hold_lateness_ns);
        check_exponential_service(&station.name, &service, &lateness, station.service_rate);

        // Busy server-time is the sum of the realized service times.
        let busy_ns = window.busy_server_ns as f64;
        let summed_ns = service.mean() * service.len() as f64;
        assert!(
            (busy_ns - summed_ns).abs() <= 0.01 * summed_ns,
            "{}: busy {busy_ns} ns, service times sum to {summed_ns} ns",
            station.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_rejects_burst_with_resource_exhausted() {
    let _guard = ONE_MESH_AT_A_TIME.lock().await;
    // One payment server holding each request for exactly 1 s, and room for
    // K = 2 requests: of a burst of 10, one is served, one waits and eight
    // are rejected.
    let text = r#"
        [[arrival]]
        station = "payment"
        rate = 0.5

        [[station]]
        name = "payment"
        servers = 1
        service_rate = 1.0
        distribution = "deterministic"
        capacity = 2
    "#;
    let topology = Topology::from_toml_str(text, "capacity test").unwrap();
    let mesh = TestMesh::start(&topology, 7).await;
    mesh.start_windows().await;

    let client = PaymentServiceClient::connect(mesh.address(names::PAYMENT))
        .await
        .unwrap();
    let mut burst = Vec::new();
    for payment_id in 0..10 {
        let mut client = client.clone();
        burst.push(tokio::spawn(async move {
            let mut request = Request::new(ChargeRequest {
                payment_id,
                order_id: payment_id,
                amount_cents: 100,
            });
            request.set_timeout(REQUEST_TIMEOUT);
            client
                .charge(request)
                .await
                .map(|_| ())
                .map_err(|status| status.code())
        }));
    }
    let mut outcomes = Vec::new();
    for call in burst {
        outcomes.push(call.await.unwrap());
    }

    let served = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let rejected = outcomes
        .iter()
        .filter(|outcome| **outcome == Err(Code::ResourceExhausted))
        .count();
    assert_eq!(served, 2, "outcomes: {outcomes:?}");
    assert_eq!(rejected, 8, "outcomes: {outcomes:?}");

    let figures = mesh.end_windows().await;
    let payment = &figures[names::PAYMENT];
    assert_eq!(payment.arrivals, 10);
    assert_eq!(payment.losses, 8);
    assert_eq!(payment.completions, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_downstream_fails_only_calls_needing_it() {
    let _guard = ONE_MESH_AT_A_TIME.lock().await;
    let topology = Topology::reference();
    let mut mesh = TestMesh::start(&topology, 3).await;

    // All six up: everything succeeds.
    let failures = send_requests(mesh.address(names::API_GATEWAY), 50, 500.0).await;
    assert!(
        failures.is_empty(),
        "failures with all stations up: {failures:?}"
    );

    mesh.stop(names::PAYMENT).await;
    mesh.start_windows().await;
    let requests = 300;
    let failures = send_requests(mesh.address(names::API_GATEWAY), requests, 500.0).await;
    let figures = mesh.end_windows().await;

    // Every request that visits order needs payment (probability 1), so it
    // fails with UNAVAILABLE and a message naming the failed call; all the
    // others succeed.
    let unavailable = count_code(&failures, Code::Unavailable);
    assert_eq!(unavailable, failures.len(), "failures: {failures:?}");
    for (_, message) in &failures {
        assert!(
            message.contains("call from order to payment"),
            "message does not name the failed call: {message}"
        );
    }
    let order_visits = figures[names::ORDER].arrivals as usize;
    assert!(order_visits > 0);
    assert_eq!(failures.len(), order_visits);
    assert!(failures.len() < requests as usize);

    // The gateway counts the failed order calls by status.
    let gateway = &figures[names::API_GATEWAY];
    let order_call = gateway
        .calls
        .iter()
        .find(|call| call.to == names::ORDER)
        .unwrap();
    let unavailable_count = order_call
        .statuses
        .iter()
        .find(|status| status.code == Code::Unavailable as i32)
        .map_or(0, |status| status.count);
    assert_eq!(unavailable_count as usize, order_visits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_passes_along_slow_calls() {
    let _guard = ONE_MESH_AT_A_TIME.lock().await;

    // Order calls payment on every visit, and payment's one server holds
    // each request for exactly 500 ms.
    let text = r#"
        [[arrival]]
        station = "order"
        rate = 1.0

        [[station]]
        name = "order"
        servers = 2
        service_rate = 1000.0

        [[station]]
        name = "payment"
        servers = 1
        service_rate = 2.0
        distribution = "deterministic"

        [[call]]
        from = "order"
        to = "payment"
        probability = 1.0
    "#;
    let topology = Topology::from_toml_str(text, "deadline test").unwrap();
    let mesh = TestMesh::start(&topology, 5).await;
    mesh.start_windows().await;

    // Three orders with a 200 ms deadline: the first holds payment's server
    // past it, the other two wait behind it.
    let client = OrderServiceClient::connect(mesh.address(names::ORDER))
        .await
        .unwrap();
    let mut orders = Vec::new();
    for order_id in 0..3 {
        let mut client = client.clone();
        orders.push(tokio::spawn(async move {
            let mut request = Request::new(PlaceOrderRequest {
                order_id,
                user_id: 1,
                product_id: 2,
                quantity: 1,
            });
            request.set_timeout(Duration::from_millis(200));
            let reply = tokio::time::timeout(REQUEST_TIMEOUT, client.place_order(request)).await;
            reply
                .expect("the order did not fail within 10 s")
                .map(|_| ())
        }));
    }
    // The client sees DEADLINE_EXCEEDED from the order station, or its own
    // tonic channel's timer expiring first (CANCELLED, "Timeout expired")
    // when the reply is a few milliseconds late on a busy machine.
    for order in orders {
        let status = order.await.unwrap().unwrap_err();
        let client_timer_expired =
            status.code() == Code::Cancelled && status.message() == "Timeout expired";
        assert!(
            status.code() == Code::DeadlineExceeded || client_timer_expired,
            "{status:?}"
        );
    }

    // Once the first charge ends at 500 ms, payment drops the two expired
    // requests from its queue.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let figures = mesh.end_windows().await;
    let payment = &figures[names::PAYMENT];
    assert_eq!(payment.arrivals, 3);
    assert_eq!(payment.completions, 1);
    assert_eq!(payment.deadline_drops, 2);

    // The order station replied DEADLINE_EXCEEDED to all three, because its
    // call to payment timed out.
    let order = &figures[names::ORDER];
    let deadline_replies = order
        .replies
        .iter()
        .find(|status| status.code == Code::DeadlineExceeded as i32)
        .map_or(0, |status| status.count);
    assert_eq!(deadline_replies, 3, "replies: {:?}", order.replies);
    let payment_call = &order.calls[0];
    let timed_out = payment_call
        .statuses
        .iter()
        .find(|status| status.code == Code::DeadlineExceeded as i32)
        .map_or(0, |status| status.count);
    assert_eq!(timed_out, 3, "statuses: {:?}", payment_call.statuses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_get_clear_statuses() {
    let _guard = ONE_MESH_AT_A_TIME.lock().await;
    let topology = Topology::reference();
    let mesh = TestMesh::start(&topology, 9).await;

    let mut gateway = StorefrontClient::connect(mesh.address(names::API_GATEWAY))
        .await
        .unwrap();
    let oversized = StorefrontRequest {
        request_id: 1,
        customer_id: 1,
        product_id: 1,
        body: vec![0; 5000],
    };
    let status = gateway.handle_request(oversized).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("5000-byte body"),
        "{}",
        status.message()
    );

    let mut order = OrderServiceClient::connect(mesh.address(names::ORDER))
        .await
        .unwrap();
    let no_quantity = PlaceOrderRequest {
        order_id: 7,
        user_id: 1,
        product_id: 1,
        quantity: 0,
    };
    let status = order.place_order(no_quantity).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("quantity 0"),
        "{}",
        status.message()
    );

    let mut payment = PaymentServiceClient::connect(mesh.address(names::PAYMENT))
        .await
        .unwrap();
    let free = ChargeRequest {
        payment_id: 3,
        order_id: 3,
        amount_cents: 0,
    };
    let status = payment.charge(free).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let mut database = DatabaseClient::connect(mesh.address(names::DATABASE))
        .await
        .unwrap();
    let unknown_table = ReadRowRequest {
        table: "carts".to_owned(),
        key: 1,
    };
    let status = database.read_row(unknown_table).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("\"carts\""),
        "{}",
        status.message()
    );

    // A seeded row reads back: the value of row k is the little-endian bytes of k.
    let row = database
        .read_row(ReadRowRequest {
            table: "users".to_owned(),
            key: 42,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(row.found);
    assert_eq!(row.value, 42_u64.to_le_bytes().to_vec());
}
