//! The export pipeline: OTLP/gRPC exporters for spans and metrics on a
//! runtime of their own, and the [`Guard`] that flushes them.

use std::time::Duration;

use opentelemetry::metrics::MeterProvider;
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::config::TelemetryConfig;
use crate::export_log::{LoggedMetricExporter, LoggedSpanExporter};

/// Instrumentation scope of every span and metric of this crate.
pub const SCOPE: &str = "queuelab";

/// A failure to build the export pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The exporters' tokio runtime could not start.
    #[error("failed to start the telemetry runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The OTLP exporter rejected its settings, for example an endpoint that
    /// is not a URL.
    #[error(
        "invalid OTLP exporter settings for endpoint {endpoint:?}: {reason}; set OTEL_EXPORTER_OTLP_ENDPOINT to a URL such as http://127.0.0.1:4317"
    )]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// The exporter's message.
        reason: String,
    },
}

/// The running pipeline.
pub(crate) struct Pipeline {
    pub(crate) tracer_provider: SdkTracerProvider,
    pub(crate) meter_provider: SdkMeterProvider,
    /// Runs the exporters' gRPC connections, so that export works from any
    /// thread and outlives the runtime of the service it reports on.
    runtime: Option<tokio::runtime::Runtime>,
    shutdown_timeout: Duration,
}

impl Pipeline {
    /// Builds the exporters for `endpoint` and the providers that batch to
    /// them in the background.
    pub(crate) fn start(config: &TelemetryConfig, endpoint: &str) -> Result<Self, PipelineError> {
        // One worker thread is enough for a few exports a second, and it
        // leaves the cores to the stations.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otel-export")
            .enable_all()
            .build()
            .map_err(PipelineError::Runtime)?;

        // tonic connects lazily, spawning its connection task on the runtime
        // entered at build time.
        let _entered = runtime.enter();
        let invalid = |error: opentelemetry_otlp::ExporterBuildError| PipelineError::Exporter {
            endpoint: endpoint.to_owned(),
            reason: error.to_string(),
        };
        let span_exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(invalid)?;
        let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(invalid)?;

        let resource = resource(&config.default_service_name);
        let tracer_provider = SdkTracerProvider::builder()
            .with_batch_exporter(LoggedSpanExporter::new(span_exporter, endpoint))
            .with_resource(resource.clone())
            .build();

        let mut reader =
            PeriodicReader::builder(LoggedMetricExporter::new(metric_exporter, endpoint));
        if let Some(interval) = config.metric_interval {
            reader = reader.with_interval(interval);
        }
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(reader.build())
            .with_resource(resource)
            .build();
        drop(_entered);

        Ok(Self {
            tracer_provider,
            meter_provider,
            runtime: Some(runtime),
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    /// Returns the tracer that the `tracing` layer turns spans into.
    pub(crate) fn tracer(&self) -> opentelemetry_sdk::trace::SdkTracer {
        self.tracer_provider.tracer(SCOPE)
    }

    /// Returns the meter of every instrument.
    pub(crate) fn meter(&self) -> opentelemetry::metrics::Meter {
        self.meter_provider.meter(SCOPE)
    }

    /// Exports what is buffered, waiting at most the shutdown timeout for
    /// each signal, then stops the exporters.
    fn shutdown(&mut self) {
        let timeout = self.shutdown_timeout;
        if let Err(error) = self.tracer_provider.shutdown_with_timeout(timeout) {
            tracing::warn!(%error, timeout_s = timeout.as_secs_f64(), "flushing spans at shutdown failed; the rest are dropped");
        }
        if let Err(error) = self.meter_provider.shutdown_with_timeout(timeout) {
            tracing::warn!(%error, timeout_s = timeout.as_secs_f64(), "flushing metrics at shutdown failed; the rest are dropped");
        }
        if let Some(runtime) = self.runtime.take() {
            // Returns at once, also when called from within another runtime,
            // where dropping a runtime would panic.
            runtime.shutdown_background();
        }
    }

    /// Exports the spans buffered so far, without waiting for the batch
    /// delay; for tests and for code that must see its spans now.
    pub(crate) fn flush(&self) {
        if let Err(error) = self.tracer_provider.force_flush() {
            tracing::warn!(%error, "flushing spans failed");
        }
        if let Err(error) = self.meter_provider.force_flush() {
            tracing::warn!(%error, "flushing metrics failed");
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Builds the resource: the SDK's detectors read `OTEL_SERVICE_NAME` and
/// `OTEL_RESOURCE_ATTRIBUTES`; `default_service_name` applies when neither
/// names the service.
fn resource(default_service_name: &str) -> Resource {
    let builder = Resource::builder();
    if TelemetryConfig::environment_names_service(|name| std::env::var(name).ok()) {
        builder.build()
    } else {
        builder
            .with_service_name(default_service_name.to_owned())
            .build()
    }
}
