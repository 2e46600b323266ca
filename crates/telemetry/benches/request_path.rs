//! Cost of the instrumentation on a station's request path, with export off
//! and on.
//!
//! - `server`: one request through [`ServerLayer`] around a handler that
//!   records a visit's waiting, service and sojourn times, as a station's
//!   handler does.
//! - `bare`: the same handler without the layer.
//! - `client`: [`ClientCall::start`], `traceparent` injection into gRPC
//!   metadata, and [`ClientCall::finish`], as a downstream call does.
//!
//! Export "on" sends to an OTLP sink served in this process on 127.0.0.1:0.
//! Run with `cargo bench -p queuelab-telemetry --bench request_path`.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
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
use queuelab_telemetry::TelemetryConfig;
use queuelab_telemetry::rpc::{ClientCall, ServerLayer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataMap;
use tower::{Layer, Service};

const STATION: &str = "user";
const METHOD_PATH: &str = "/queuelab.v1.UserService/GetUser";
const METHOD: &str = "queuelab.v1.UserService/GetUser";

/// A handler that records what a station's visit records and replies at once.
#[derive(Debug, Clone)]
struct Handler;

impl Service<http::Request<()>> for Handler {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<()>) -> Self::Future {
        let waiting = Duration::from_micros(40);
        let service = Duration::from_micros(250);
        queuelab_telemetry::metrics::record_visit(STATION, waiting, service);
        queuelab_telemetry::metrics::record_reply(STATION, waiting + service, tonic::Code::Ok);
        ready(Ok(http::Response::new(())))
    }
}

/// An OTLP collector that accepts and discards everything.
#[derive(Debug, Clone)]
struct Sink;

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        _request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn request() -> http::Request<()> {
    http::Request::builder()
        .uri(METHOD_PATH)
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .body(())
        .unwrap()
}

fn bench_paths(criterion: &mut Criterion, runtime: &tokio::runtime::Runtime, export: &str) {
    let mut group = criterion.benchmark_group(format!("request_path/export_{export}"));
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);

    let mut bare = Handler;
    group.bench_function("bare", |bencher| {
        bencher.iter(|| runtime.block_on(bare.call(request())).unwrap());
    });

    let mut layered = ServerLayer::new(STATION).layer(Handler);
    group.bench_function("server", |bencher| {
        bencher.iter(|| runtime.block_on(layered.call(request())).unwrap());
    });

    group.bench_function("client", |bencher| {
        bencher.iter(|| {
            let mut metadata = MetadataMap::new();
            let call = ClientCall::start(STATION, METHOD);
            let entered = call.span().clone().entered();
            queuelab_telemetry::propagation::inject_current(&mut metadata);
            drop(entered);
            call.finish(STATION, tonic::Code::Ok);
            metadata
        });
    });
    group.finish();
}

fn request_path(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    queuelab_telemetry::init_logging();
    bench_paths(criterion, &runtime, "off");

    // The sink runs on its own runtime so that it replies while the bench
    // thread is busy.
    let sink_runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap(),
    );
    let address = sink_runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Sink))
            .add_service(MetricsServiceServer::new(Sink))
            .serve_with_incoming(TcpListenerStream::new(listener));
        tokio::spawn(server);
        address
    });
    let config = TelemetryConfig::with_endpoint("queuelab-bench", &format!("http://{address}"));
    let guard = queuelab_telemetry::init_with(&config);
    assert!(guard.is_exporting(), "the export pipeline did not start");
    bench_paths(criterion, &runtime, "on");
    drop(guard);
}

criterion_group!(benches, request_path);
criterion_main!(benches);
