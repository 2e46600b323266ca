//! Exporter wrappers that log failed exports as rate-limited warnings.
//!
//! The batch span processor and the periodic metric reader drop a batch whose
//! export fails. With a collector down that happens every few seconds, so
//! each wrapper logs the first failure and then at most one summary per
//! [`WARNING_INTERVAL`] with the number of failures in between.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Minimum time between two warnings about failed exports of one signal.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(30);

/// Counts failed exports and decides when to log them.
#[derive(Debug)]
struct FailureLog {
    signal: &'static str,
    endpoint: String,
    state: Mutex<FailureState>,
}

#[derive(Debug, Default)]
struct FailureState {
    last_warning: Option<Instant>,
    failures_since_warning: u64,
}

impl FailureLog {
    fn new(signal: &'static str, endpoint: &str) -> Self {
        Self {
            signal,
            endpoint: endpoint.to_owned(),
            state: Mutex::new(FailureState::default()),
        }
    }

    fn record(&self, result: &OTelSdkResult) {
        let Err(error) = result else {
            return;
        };
        let Some(failed_exports) = self.count_failure(Instant::now()) else {
            return;
        };
        tracing::warn!(
            signal = self.signal,
            endpoint = %self.endpoint,
            failed_exports,
            %error,
            "OTLP export failed; the batch is dropped. Check that the collector runs at the endpoint"
        );
    }

    /// Counts a failure at `now`. Returns the failures since the last
    /// warning, this one included, when a warning is due.
    fn count_failure(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        state.failures_since_warning += 1;
        let due = state
            .last_warning
            .is_none_or(|last| now.saturating_duration_since(last) >= WARNING_INTERVAL);
        if !due {
            return None;
        }
        let failures = state.failures_since_warning;
        state.last_warning = Some(now);
        state.failures_since_warning = 0;
        Some(failures)
    }
}

/// A span exporter that logs its failures through [`FailureLog`].
pub(crate) struct LoggedSpanExporter<E> {
    inner: E,
    failures: FailureLog,
}

impl<E> LoggedSpanExporter<E> {
    pub(crate) fn new(inner: E, endpoint: &str) -> Self {
        Self {
            inner,
            failures: FailureLog::new("traces", endpoint),
        }
    }
}

impl<E> fmt::Debug for LoggedSpanExporter<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LoggedSpanExporter")
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

impl<E: SpanExporter> SpanExporter for LoggedSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let result = self.inner.export(batch).await;
        self.failures.record(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// A metric exporter that logs its failures through [`FailureLog`].
pub(crate) struct LoggedMetricExporter<E> {
    inner: E,
    failures: FailureLog,
}

impl<E> LoggedMetricExporter<E> {
    pub(crate) fn new(inner: E, endpoint: &str) -> Self {
        Self {
            inner,
            failures: FailureLog::new("metrics", endpoint),
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for LoggedMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.failures.record(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_log_rate_limits() {
        let log = FailureLog::new("traces", "http://127.0.0.1:4317");
        let start = Instant::now();
        let second = Duration::from_secs(1);

        // The first failure warns at once.
        assert_eq!(log.count_failure(start), Some(1));

        // Failures within 30 s of the warning are only counted.
        assert_eq!(log.count_failure(start + 5 * second), None);
        assert_eq!(log.count_failure(start + 29 * second), None);

        // The first failure 30 s after the warning reports all three.
        assert_eq!(log.count_failure(start + 30 * second), Some(3));
        assert_eq!(log.count_failure(start + 31 * second), None);
        assert_eq!(log.count_failure(start + 61 * second), Some(2));
    }
}
