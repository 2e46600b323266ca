//! OpenTelemetry traces and metrics of the queuelab mesh and its load
//! generator, exported over OTLP/gRPC.
//!
//! Call [`init`] once at the start of a service with its default
//! `service.name` and keep the returned [`Guard`] until the end. Export runs
//! only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and `OTEL_SDK_DISABLED` is
//! not `true`. Otherwise no exporter is built, and the instrumented request
//! paths check one flag and go on.
//!
//! Modules:
//! - [`config`]: when and where to export, from the standard variables;
//! - `subscriber`: the `tracing` subscriber (fmt to stderr, `RUST_LOG`) with
//!   a slot for the OpenTelemetry layer;
//! - `pipeline`: the OTLP exporters and the providers that batch to them;
//! - [`propagation`]: W3C trace context in gRPC metadata;
//! - [`rpc`]: server and client spans of gRPC calls;
//! - [`metrics`]: the station and RPC instruments;
//! - `agent`: process and host CPU, memory and I/O gauges;
//! - `export_log`: rate-limited warnings about failed exports.

#![warn(missing_docs)]

mod agent;
pub mod config;
mod export_log;
pub mod metrics;
mod pipeline;
pub mod propagation;
pub mod rpc;
mod subscriber;

use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::config::TelemetryConfig;
pub use crate::pipeline::PipelineError;
pub use crate::subscriber::init_logging;

/// Set while an export pipeline runs; every instrumented path reads it first.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Returns true while spans and metrics are exported.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Keeps the export pipeline running; dropping it flushes what is buffered
/// (waiting at most [`TelemetryConfig::shutdown_timeout`] per signal) and
/// stops export.
#[must_use = "export stops when the guard is dropped"]
pub struct Guard {
    pipeline: Option<pipeline::Pipeline>,
    _agent: Option<agent::AgentGauges>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Guard")
            .field("exporting", &self.pipeline.is_some())
            .finish()
    }
}

impl Guard {
    fn inactive() -> Self {
        Self {
            pipeline: None,
            _agent: None,
        }
    }

    /// Returns true when this guard runs an export pipeline.
    pub fn is_exporting(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Exports the spans and metrics buffered so far, blocking until the
    /// exporters return (each bounded by `OTEL_EXPORTER_OTLP_TIMEOUT`,
    /// 10 s by default). Does nothing for an inactive guard.
    pub fn flush(&self) {
        if let Some(pipeline) = &self.pipeline {
            pipeline.flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.pipeline.is_some() {
            ENABLED.store(false, Ordering::Relaxed);
        }
    }
}

/// Installs logging (as [`init_logging`]) and, when the environment turns
/// export on, the OTLP pipeline with `default_service_name` as
/// `service.name` (`queuelab-user`, `queuelab-loadgen`, ...).
///
/// A failure to build the pipeline is logged and leaves export off: the
/// service runs without telemetry rather than not at all.
pub fn init(default_service_name: &str) -> Guard {
    init_with(&TelemetryConfig::from_env(default_service_name))
}

/// Installs logging and the pipeline that `config` describes; [`init`] with
/// the settings given rather than read from the environment.
pub fn init_with(config: &TelemetryConfig) -> Guard {
    init_logging();
    let Some(endpoint) = &config.endpoint else {
        return Guard::inactive();
    };

    let pipeline = match pipeline::Pipeline::start(config, endpoint) {
        Ok(pipeline) => pipeline,
        Err(error) => {
            tracing::warn!(%error, "telemetry export is off");
            return Guard::inactive();
        }
    };

    // Source locations, thread ids and busy/idle times cost time on every
    // span and carry nothing about queueing, so they stay off.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(pipeline.tracer())
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false);
    if let Err(error) = subscriber::set_otel_layer(Box::new(layer)) {
        tracing::warn!(%error, "telemetry export is off");
        return Guard::inactive();
    }

    let meter = pipeline.meter();
    metrics::install(&meter);
    let agent = agent::register(&meter);
    ENABLED.store(true, Ordering::Relaxed);
    tracing::info!(
        endpoint = %endpoint,
        default_service_name = %config.default_service_name,
        "exporting traces and metrics over OTLP/gRPC"
    );

    Guard {
        pipeline: Some(pipeline),
        _agent: agent,
    }
}
