//! W3C trace context (`traceparent`, `tracestate`) in gRPC metadata.
//!
//! gRPC metadata travels as HTTP/2 headers, so the carrier on both sides is
//! an [`http::HeaderMap`]: a client writes into the outgoing request's
//! [`MetadataMap`], and a server reads the incoming request's headers before
//! tonic turns them into metadata.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::MetadataMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the context of `span` into `metadata` as `traceparent` (and
/// `tracestate` when the context has one). Does nothing while export is off
/// or when `span` is disabled.
pub fn inject(span: &tracing::Span, metadata: &mut MetadataMap) {
    if !crate::enabled() || span.is_disabled() {
        return;
    }
    inject_context(&span.context(), metadata.as_mut());
}

/// Writes the context of the current span into `metadata`, as [`inject`].
pub fn inject_current(metadata: &mut MetadataMap) {
    if !crate::enabled() {
        return;
    }
    inject(&tracing::Span::current(), metadata);
}

/// Makes the context carried by `headers`, if any, the parent of `span`.
/// Does nothing while export is off, when `span` is disabled, or when the
/// headers carry no valid `traceparent`, so that `span` starts a new trace.
pub fn set_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    if !crate::enabled() || span.is_disabled() {
        return;
    }
    let parent = extract_context(headers);
    // The span is new, so nothing has started it yet. set_parent then fails
    // only for a disabled span, which is checked above.
    let _ = span.set_parent(parent);
}

/// Writes `context` into `headers` with the W3C trace context format.
pub fn inject_context(context: &Context, headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(context, &mut HeaderInjector(headers));
}

/// Reads a W3C trace context from `headers`. The result contains no span
/// when the headers carry none.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Writes propagation fields into HTTP/2 headers.
struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes lower-case ASCII names and values, which are
        // always valid headers; anything else is skipped, not sent mangled.
        let Ok(name) = http::HeaderName::from_bytes(key.as_bytes()) else {
            return;
        };
        let Ok(value) = http::HeaderValue::from_str(&value) else {
            return;
        };
        self.0.insert(name, value);
    }
}

/// Reads propagation fields from HTTP/2 headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    use super::*;

    #[test]
    fn inject_writes_traceparent() {
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        let span_context = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let context = Context::new().with_remote_span_context(span_context);

        let mut headers = http::HeaderMap::new();
        inject_context(&context, &mut headers);

        // Version 00, trace id, parent span id, flags 01 (sampled), as the
        // W3C Trace Context recommendation lays the header out.
        assert_eq!(
            headers.get("traceparent").unwrap(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }

    #[test]
    fn extract_reads_traceparent() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        headers.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());

        let context = extract_context(&headers);
        let span = context.span();
        let span_context = span.span_context();
        assert_eq!(
            span_context.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        assert_eq!(
            span_context.span_id(),
            SpanId::from_hex("b7ad6b7169203331").unwrap()
        );
        assert!(span_context.is_remote());
        assert!(span_context.is_sampled());
        assert_eq!(span_context.trace_state().get("congo"), Some("t61rcWkgMzE"));
    }

    #[test]
    fn extract_ignores_invalid_traceparent() {
        for value in [
            "garbage",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        ] {
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", value.parse().unwrap());
            let context = extract_context(&headers);
            assert!(
                !context.span().span_context().is_valid(),
                "traceparent {value:?}"
            );
        }
    }
}
