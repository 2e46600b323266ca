//! One request through the in-process mesh arrives as one trace at an
//! in-process OTLP collector. The gateway's server span is the child of the
//! caller's client span. Each downstream station's server span is the child
//! of the client span its caller opened.
//!
//! All six stations share this process and so one `service.name`; the
//! `queuelab.station` attribute tells their spans apart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use queuelab_proto::v1::StorefrontRequest;
use queuelab_proto::v1::storefront_client::StorefrontClient;
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::names;
use queuelab_station::server::ServeError;
use queuelab_telemetry::TelemetryConfig;
use queuelab_telemetry::rpc::ClientCall;
use queuelab_topology::Topology;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

/// Bound on every wait of this test.
const WAIT: Duration = Duration::from_secs(15);

/// Requests sent through the gateway. The reference topology calls on with
/// probabilities below 1, so several requests make a downstream visit
/// all but certain (the seed fixes which ones).
const REQUESTS: u64 = 20;

const STOREFRONT_METHOD: &str = "queuelab.v1.Storefront/HandleRequest";

/// What the collector received.
#[derive(Debug, Default)]
struct Received {
    spans: Vec<Span>,
    metric_names: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Collector {
    received: Arc<Mutex<Received>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut received = self.received.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            for scope_spans in resource_spans.scope_spans {
                received.spans.extend(scope_spans.spans);
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut received = self.received.lock().unwrap();
        for resource_metrics in request.into_inner().resource_metrics {
            for scope_metrics in resource_metrics.scope_metrics {
                for metric in scope_metrics.metrics {
                    received.metric_names.push(metric.name);
                }
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

async fn start_collector() -> (SocketAddr, Collector) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let collector = Collector::default();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .add_service(MetricsServiceServer::new(collector.clone()))
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    (address, collector)
}

fn serve_on(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ServeError>> + Send>> {
    match config.station.as_str() {
        names::API_GATEWAY => Box::pin(queuelab_api_gateway::serve_on(config, listener, shutdown)),
        names::USER => Box::pin(queuelab_user::serve_on(config, listener, shutdown)),
        names::PRODUCT => Box::pin(queuelab_product::serve_on(config, listener, shutdown)),
        names::ORDER => Box::pin(queuelab_order::serve_on(config, listener, shutdown)),
        names::PAYMENT => Box::pin(queuelab_payment::serve_on(config, listener, shutdown)),
        names::DATABASE => Box::pin(queuelab_database::serve_on(config, listener, shutdown)),
        other => panic!("no service for station {other:?}"),
    }
}

/// Serves every station of `topology` on 127.0.0.1:0 with the others as
/// peers; returns the gateway's address and the senders that stop them.
async fn start_mesh(topology: &Topology) -> (SocketAddr, Vec<oneshot::Sender<()>>) {
    let mut listeners = BTreeMap::new();
    for station in &topology.stations {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listeners.insert(station.name.clone(), listener);
    }
    let peers: BTreeMap<String, String> = listeners
        .iter()
        .map(|(name, listener)| (name.clone(), listener.local_addr().unwrap().to_string()))
        .collect();
    let gateway = listeners[names::API_GATEWAY].local_addr().unwrap();

    let mut stops = Vec::new();
    for (name, listener) in listeners {
        let address = listener.local_addr().unwrap();
        let mut config = ServiceConfig::new(&name, topology.clone(), address);
        config.peers = peers.clone();
        config.seed = 7;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = stopped.await;
        });
        tokio::spawn(serve_on(config, listener, shutdown));
        stops.push(stop);
    }
    (gateway, stops)
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                Value::StringValue(value) => Some(value.as_str()),
                _ => None,
            },
        )
}

fn double_attribute(span: &Span, key: &str) -> Option<f64> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                Value::DoubleValue(value) => Some(*value),
                _ => None,
            },
        )
}

fn is_kind(span: &Span, kind: SpanKind) -> bool {
    span.kind == kind as i32
}

/// Sends one request through the gateway inside a client span, as the load
/// generator does, and returns its gRPC status code.
async fn send_request(gateway: SocketAddr, request_id: u64) -> tonic::Code {
    let call = ClientCall::start("loadgen", STOREFRONT_METHOD);
    let span = call.span().clone();
    let code = async {
        let mut client = StorefrontClient::connect(format!("http://{gateway}"))
            .await
            .unwrap();
        let mut request = Request::new(StorefrontRequest {
            request_id,
            customer_id: request_id,
            product_id: request_id,
            body: Vec::new(),
        });
        request.set_timeout(Duration::from_secs(5));
        queuelab_telemetry::propagation::inject_current(request.metadata_mut());
        match client.handle_request(request).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        }
    }
    .instrument(span)
    .await;
    call.finish("loadgen", code);
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_is_one_trace_across_stations() {
    let (collector_address, collector) = start_collector().await;
    let config =
        TelemetryConfig::with_endpoint("queuelab-test", &format!("http://{collector_address}"));
    let guard = queuelab_telemetry::init_with(&config);
    assert!(guard.is_exporting(), "the pipeline did not start");

    let topology = Topology::reference();
    let (gateway, stops) = start_mesh(&topology).await;

    let mut codes = Vec::new();
    for request_id in 0..REQUESTS {
        let code = tokio::time::timeout(WAIT, send_request(gateway, request_id))
            .await
            .expect("request timed out");
        codes.push(code);
    }
    assert!(
        codes.iter().all(|code| *code == tonic::Code::Ok),
        "codes {codes:?}"
    );

    // Spans end when their futures complete; the flush then exports them.
    // force_flush blocks, so it runs off the runtime's workers.
    let flushed = Arc::new(guard);
    let flusher = Arc::clone(&flushed);
    tokio::task::spawn_blocking(move || flusher.flush())
        .await
        .unwrap();

    let deadline = Instant::now() + WAIT;
    let spans = loop {
        let spans = collector.received.lock().unwrap().spans.clone();
        let has_downstream = spans.iter().any(|span| {
            is_kind(span, SpanKind::Server)
                && string_attribute(span, "queuelab.station") != Some(names::API_GATEWAY)
        });
        if has_downstream || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let by_id: BTreeMap<Vec<u8>, &Span> = spans
        .iter()
        .map(|span| (span.span_id.clone(), span))
        .collect();

    // The root: the client span opened for the request, with no parent.
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|span| is_kind(span, SpanKind::Client) && span.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len() as u64, REQUESTS, "root client spans");

    // Each gateway server span is the child of a root client span, in the
    // same trace.
    let gateway_spans: Vec<&Span> = spans
        .iter()
        .filter(|span| {
            is_kind(span, SpanKind::Server)
                && string_attribute(span, "queuelab.station") == Some(names::API_GATEWAY)
        })
        .collect();
    assert_eq!(gateway_spans.len() as u64, REQUESTS, "gateway server spans");
    for span in &gateway_spans {
        assert_eq!(span.name, STOREFRONT_METHOD);
        let parent = by_id
            .get(&span.parent_span_id)
            .expect("gateway span's parent was not exported");
        assert!(
            is_kind(parent, SpanKind::Client),
            "parent is not a client span"
        );
        assert_eq!(
            parent.trace_id, span.trace_id,
            "gateway span in another trace"
        );

        let waiting = double_attribute(span, "queuelab.waiting_time_s").expect("no waiting time");
        let service = double_attribute(span, "queuelab.service_time_s").expect("no service time");
        assert!(waiting >= 0.0, "waiting time {waiting}");
        assert!(service > 0.0, "service time {service}");
    }

    // Every downstream server span hangs from a client span of its caller,
    // which hangs from the caller's server span, all in one trace.
    let downstream: Vec<&Span> = spans
        .iter()
        .filter(|span| {
            is_kind(span, SpanKind::Server)
                && string_attribute(span, "queuelab.station") != Some(names::API_GATEWAY)
        })
        .collect();
    assert!(!downstream.is_empty(), "no downstream station span arrived");
    for span in &downstream {
        let station = string_attribute(span, "queuelab.station").unwrap();
        let client = by_id
            .get(&span.parent_span_id)
            .unwrap_or_else(|| panic!("{station}: parent span was not exported"));
        assert!(
            is_kind(client, SpanKind::Client),
            "{station}: parent is not a client span"
        );
        assert_eq!(
            client.trace_id, span.trace_id,
            "{station}: client span in another trace"
        );
        assert_eq!(
            client.name, span.name,
            "{station}: client and server method differ"
        );

        let caller = by_id
            .get(&client.parent_span_id)
            .unwrap_or_else(|| panic!("{station}: caller span was not exported"));
        assert!(
            is_kind(caller, SpanKind::Server),
            "{station}: caller is not a server span"
        );
        assert_eq!(
            caller.trace_id, span.trace_id,
            "{station}: caller in another trace"
        );
        assert!(double_attribute(span, "queuelab.service_time_s").is_some());
    }

    // The metrics went out with the same flush.
    let metric_names = collector.received.lock().unwrap().metric_names.clone();
    for name in [
        "rpc.server.call.duration",
        "rpc.client.call.duration",
        "queuelab.station.requests",
        "queuelab.station.sojourn_time",
        "queuelab.station.waiting_time",
        "queuelab.station.service_time",
        "queuelab.station.queue_length",
        "queuelab.station.busy_servers",
    ] {
        assert!(
            metric_names.iter().any(|received| received == name),
            "metric {name} missing from {metric_names:?}"
        );
    }

    for stop in stops {
        let _ = stop.send(());
    }
}
