//! The process's `tracing` subscriber: fmt to stderr filtered by `RUST_LOG`,
//! plus a slot for the OpenTelemetry layer that [`crate::init`] fills once
//! the exporter runs.
//!
//! The slot exists because a binary may install logging first (with
//! [`init_logging`]) and learn its service name, and so its OTLP resource,
//! only later. A `tracing` subscriber cannot be replaced once it is global,
//! so the OpenTelemetry layer is added to the running one instead.

use std::any::TypeId;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Event;
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::Registry;

/// The OpenTelemetry layer, boxed so that the slot's type does not depend on
/// the tracer's.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The layer that the slot forwards to. A `OnceLock` can be set only once,
/// so a second [`crate::init`] cannot replace it.
static OTEL_LAYER: OnceLock<BoxedLayer> = OnceLock::new();

/// Set when this crate installed the global subscriber, so that the slot is
/// part of it.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Target of the RPC spans of [`crate::rpc`]. The OpenTelemetry layer
/// receives them whatever the `RUST_LOG` level, so that a quieter level (the
/// demo runs its children with `warn`) keeps the traces.
pub(crate) const RPC_SPAN_TARGET: &str = "queuelab_telemetry";

/// Installs the global subscriber: fmt to stderr (ANSI colours only on a
/// terminal), filtered by `RUST_LOG` (default `info`), with an empty slot
/// for the OpenTelemetry layer. The slot receives what `RUST_LOG` enables
/// plus the RPC spans.
///
/// Returns false when another subscriber was already installed, in which
/// case logs go to that one and spans cannot be exported. Calling it again
/// after a successful call does nothing and returns true.
pub fn init_logging() -> bool {
    if INSTALLED.load(Ordering::Acquire) {
        return true;
    }

    let log_filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let rpc_spans = filter_fn(|metadata| metadata.target() == RPC_SPAN_TARGET);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = tracing_subscriber::registry()
        .with(OtelSlot.with_filter(log_filter().or(rpc_spans)))
        .with(fmt.with_filter(log_filter()))
        .try_init()
        .is_ok();

    if installed {
        INSTALLED.store(true, Ordering::Release);
    }
    installed
}

/// Puts `layer` into the slot.
///
/// # Errors
/// [`SlotError::ForeignSubscriber`] when the global subscriber was not
/// installed by [`init_logging`], [`SlotError::AlreadySet`] when a layer is
/// already in the slot.
pub(crate) fn set_otel_layer(layer: BoxedLayer) -> Result<(), SlotError> {
    if !INSTALLED.load(Ordering::Acquire) {
        return Err(SlotError::ForeignSubscriber);
    }
    OTEL_LAYER.set(layer).map_err(|_| SlotError::AlreadySet)?;

    // Callsites registered before the layer arrived cached their interest.
    // The slot's filter is fixed at install time and does not depend on the
    // layer inside, so the cache needs no rebuild.
    Ok(())
}

/// A failure to add the OpenTelemetry layer to the subscriber.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SlotError {
    #[error(
        "another tracing subscriber is installed; call queuelab_telemetry::init_logging or init before any other subscriber"
    )]
    ForeignSubscriber,
    #[error("telemetry is already initialised in this process; call init once")]
    AlreadySet,
}

/// A layer that forwards every callback to the layer in [`OTEL_LAYER`], or
/// does nothing while the slot is empty (one atomic load per callback).
struct OtelSlot;

fn otel_layer() -> Option<&'static BoxedLayer> {
    OTEL_LAYER.get()
}

impl Layer<Registry> for OtelSlot {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_record(span, values, ctx);
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_follows_from(span, follows, ctx);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_close(id, ctx);
        }
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, Registry>) {
        if let Some(layer) = otel_layer() {
            layer.on_id_change(old, new, ctx);
        }
    }

    /// Forwards downcasts, which `tracing-opentelemetry` uses to reach its
    /// span context from a `tracing::Span` (`OpenTelemetrySpanExt`).
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: the inner layer lives in a static that is never cleared,
        // so a pointer into it stays valid for the life of the process.
        otel_layer().and_then(|layer| unsafe { layer.downcast_raw(id) })
    }
}
