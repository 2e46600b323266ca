//! A minimal OTLP/gRPC receiver for checking export without a collector: it
//! listens on 127.0.0.1, counts the spans of each service and the traces
//! they form, and prints the counts when it stops.
//!
//! ```sh
//! cargo run -p queuelab-telemetry --example otlp_sink -- 4317 30
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 queuelab demo ...
//! ```
//!
//! Arguments: the port (default 4317) and the seconds to run (default 60).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
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
use tonic::{Request, Response, Status};

/// Spans per service, the services seen in each trace, and metric names.
#[derive(Debug, Default)]
struct Counts {
    spans_per_service: BTreeMap<String, u64>,
    services_per_trace: BTreeMap<Vec<u8>, BTreeSet<String>>,
    metric_names: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
struct Sink {
    counts: Arc<Mutex<Counts>>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut counts = self.counts.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(name) => Some(name.clone()),
                        _ => None,
                    },
                )
                .unwrap_or_else(|| "(no service.name)".to_owned());
            for span in resource_spans
                .scope_spans
                .into_iter()
                .flat_map(|scope| scope.spans)
            {
                *counts.spans_per_service.entry(service.clone()).or_default() += 1;
                counts
                    .services_per_trace
                    .entry(span.trace_id)
                    .or_default()
                    .insert(service.clone());
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut counts = self.counts.lock().unwrap();
        for resource_metrics in request.into_inner().resource_metrics {
            for scope in resource_metrics.scope_metrics {
                for metric in scope.metrics {
                    counts.metric_names.insert(metric.name);
                }
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(port) => port.parse().context("invalid port: expected 0 to 65535")?,
        None => 4317,
    };
    let run_s: u64 = match args.next() {
        Some(seconds) => seconds
            .parse()
            .context("invalid run time: expected whole seconds")?,
        None => 60,
    };

    let sink = Sink::default();
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    println!("receiving OTLP/gRPC on {address} for {run_s} s");
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(sink.clone()))
        .add_service(MetricsServiceServer::new(sink.clone()))
        .serve_with_shutdown(address, tokio::time::sleep(Duration::from_secs(run_s)));
    server
        .await
        .with_context(|| format!("failed to serve on {address}; pick a free port"))?;

    let counts = sink.counts.lock().unwrap();
    println!("spans per service:");
    for (service, spans) in &counts.spans_per_service {
        println!("  {service}: {spans}");
    }
    let mut traces_per_width: BTreeMap<usize, u64> = BTreeMap::new();
    for services in counts.services_per_trace.values() {
        *traces_per_width.entry(services.len()).or_default() += 1;
    }
    println!("traces by number of services they span:");
    for (width, traces) in &traces_per_width {
        println!("  {width}: {traces}");
    }
    println!("metrics: {}", counts.metric_names.len());
    for name in &counts.metric_names {
        println!("  {name}");
    }
    Ok(())
}
