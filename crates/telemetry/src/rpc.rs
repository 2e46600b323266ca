//! Spans of gRPC calls: a tower layer that opens the server span of every
//! incoming request, and [`ClientCall`] for every outgoing one.
//!
//! Span names are the full gRPC method (`queuelab.v1.UserService/GetUser`),
//! and the attributes follow the OpenTelemetry RPC conventions
//! (`rpc.system`, `rpc.method`, `rpc.grpc.status_code`) plus the station's
//! own timings. While export is off no span is created: both paths check
//! one flag and go on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tracing::Instrument;
use tracing::field::Empty;

use crate::metrics;

/// Span attribute with the time the request waited for a server, in seconds.
pub const WAITING_TIME_FIELD: &str = "queuelab.waiting_time_s";
/// Span attribute with the time the request held a server, in seconds.
pub const SERVICE_TIME_FIELD: &str = "queuelab.service_time_s";

/// Path prefixes of the gRPC services that get no span: health checks and
/// the stats API are polled by tools, not part of a request's trace.
const UNTRACED_PREFIXES: [&str; 2] = ["/grpc.health.v1.", "/queuelab.v1.StationStats/"];

/// A tower layer that wraps each request to a station's domain API in a
/// server span whose parent is the caller's context from `traceparent`, and
/// records `rpc.server.call.duration`.
#[derive(Debug, Clone)]
pub struct ServerLayer {
    station: Arc<str>,
}

impl ServerLayer {
    /// Creates the layer for station `station`.
    pub fn new(station: &str) -> Self {
        Self {
            station: Arc::from(station),
        }
    }
}

impl<S> tower::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerService {
            inner,
            station: Arc::clone(&self.station),
        }
    }
}

/// The service of [`ServerLayer`].
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    station: Arc<str>,
}

impl<S, B, ResponseBody> tower::Service<http::Request<B>> for ServerService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResponseBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this request; the
        // fresh clone waits for the next poll_ready, as tower requires.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);

        let path = request.uri().path();
        if !crate::enabled()
            || UNTRACED_PREFIXES
                .iter()
                .any(|prefix| path.starts_with(prefix))
        {
            return Box::pin(inner.call(request));
        }

        let method = path.trim_start_matches('/').to_owned();
        let span = server_span(&self.station, &method);
        crate::propagation::set_remote_parent(&span, request.headers());
        let station = Arc::clone(&self.station);
        let start = Instant::now();
        let response = inner.call(request).instrument(span.clone());

        Box::pin(async move {
            let result = response.await;
            let code = match &result {
                Ok(response) => response_code(response),
                Err(_) => tonic::Code::Unknown,
            };
            record_status(&span, code);

            // An unknown path gets UNIMPLEMENTED; its method stays out of
            // the metric's attributes so that clients cannot grow them.
            let method = if code == tonic::Code::Unimplemented {
                "_OTHER"
            } else {
                method.as_str()
            };
            metrics::record_server_call(&station, method, code, start.elapsed());
            result
        })
    }
}

/// Opens the server span of one request to `method` at `station`.
fn server_span(station: &str, method: &str) -> tracing::Span {
    tracing::info_span!(
        target: crate::subscriber::RPC_SPAN_TARGET,
        "grpc.server",
        otel.name = method,
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        queuelab.station = station,
        queuelab.waiting_time_s = Empty,
        queuelab.service_time_s = Empty,
    )
}

/// Reads the gRPC status of a response: tonic sends a handler's error as a
/// trailers-only response, with `grpc-status` among the headers.
///
/// NOTE: a success carries `grpc-status: 0` in the trailers, which are not
/// read here, so a failure that arrives in the trailers of a streamed body
/// counts as OK. The mesh's methods are all unary.
fn response_code<Body>(response: &http::Response<Body>) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .map_or(tonic::Code::Ok, |value| {
            tonic::Code::from_bytes(value.as_bytes())
        })
}

/// Sets the span's gRPC status attribute, and its OpenTelemetry status to
/// ERROR for a code other than OK.
fn record_status(span: &tracing::Span, code: tonic::Code) {
    span.record("rpc.grpc.status_code", code as i64);
    if code != tonic::Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
}

/// The span and timer of one outgoing gRPC call.
///
/// Make the call inside [`ClientCall::span`] (with
/// [`tracing::Instrument::instrument`]) and put its context into the request
/// with [`crate::propagation::inject`], then report the outcome with
/// [`ClientCall::finish`].
#[derive(Debug)]
pub struct ClientCall {
    span: tracing::Span,
    started: Option<(Instant, &'static str)>,
}

impl ClientCall {
    /// Starts a call from `caller` (a station name, or `loadgen`) to the full
    /// gRPC method `method`, such as `queuelab.v1.Database/ReadRow`.
    pub fn start(caller: &str, method: &'static str) -> Self {
        if !crate::enabled() {
            return Self {
                span: tracing::Span::none(),
                started: None,
            };
        }
        let span = tracing::info_span!(
            target: crate::subscriber::RPC_SPAN_TARGET,
            "grpc.client",
            otel.name = method,
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            queuelab.station = caller,
        );
        Self {
            span,
            started: Some((Instant::now(), method)),
        }
    }

    /// Returns the call's span, disabled while export is off.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Records the call's status `code` on the span and its duration in
    /// `rpc.client.call.duration` under `caller`, then closes the span.
    pub fn finish(self, caller: &str, code: tonic::Code) {
        let Some((started, method)) = self.started else {
            return;
        };
        record_status(&self.span, code);
        metrics::record_client_call(caller, method, code, started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_call_off_without_export() {
        // No pipeline runs in unit tests, so export is off.
        assert!(!crate::enabled());
        let call = ClientCall::start("user", "queuelab.v1.Database/ReadRow");
        assert!(call.span().is_disabled());

        let mut metadata = tonic::metadata::MetadataMap::new();
        crate::propagation::inject(call.span(), &mut metadata);
        assert!(metadata.is_empty());
        call.finish("user", tonic::Code::Ok);
    }

    #[test]
    fn response_code_reads_header() {
        let ok = http::Response::new(());
        assert_eq!(response_code(&ok), tonic::Code::Ok);

        let mut exhausted = http::Response::new(());
        exhausted
            .headers_mut()
            .insert("grpc-status", "8".parse().unwrap());
        assert_eq!(response_code(&exhausted), tonic::Code::ResourceExhausted);
    }
}
