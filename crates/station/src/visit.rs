//! The request path every service handler shares: queue, hold a server,
//! make the downstream calls, reply.

use std::time::{Duration, Instant};

use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use crate::downstream::Downstream;
use crate::error::VisitError;
use crate::station::Station;

/// Time by which a station ends a request before the caller's grpc-timeout.
///
/// tonic's server enforces grpc-timeout too, and when its timer fires first
/// the caller gets CANCELLED ("Timeout expired"). Ending the station's own
/// wait 5 ms earlier leaves time for a busy runtime to run the woken task and
/// send the reply, so the caller gets DEADLINE_EXCEEDED with the station's
/// message in most cases.
pub const DEADLINE_HEADROOM: Duration = Duration::from_millis(5);

/// The outcome of one visit, for the handler's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitReport {
    /// Downstream calls made (all succeeded).
    pub calls_made: u32,
    /// Service time as realized, server acquired to released.
    pub service: Duration,
}

/// A station together with the clients of its downstream calls.
#[derive(Debug, Clone)]
pub struct StationHandler {
    station: Station,
    downstream: Downstream,
}

impl StationHandler {
    /// Pairs a station with its downstream clients; `downstream` must list
    /// the station's calls in the same order as its spec.
    pub fn new(station: Station, downstream: Downstream) -> Self {
        debug_assert_eq!(station.spec().calls.len(), downstream.len());
        Self {
            station,
            downstream,
        }
    }

    /// Returns the station.
    pub fn station(&self) -> &Station {
        &self.station
    }

    /// Runs one visit for a request with id `key` whose gRPC metadata is
    /// `metadata`: queue for a server, hold it, then make each chosen call in
    /// topology order, stopping at the first failure.
    ///
    /// # Errors
    /// RESOURCE_EXHAUSTED when the station is full, DEADLINE_EXCEEDED when
    /// the request's grpc-timeout passes, or the status of the first failed
    /// downstream call with a message naming the call.
    pub async fn visit(&self, metadata: &MetadataMap, key: u64) -> Result<VisitReport, Status> {
        let arrival = Instant::now();
        let deadline = grpc_timeout(metadata)
            .map(|timeout| arrival + timeout.saturating_sub(DEADLINE_HEADROOM));
        let result = self.run(arrival, deadline, key).await;

        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.station.record_reply(arrival.elapsed(), code);
        queuelab_telemetry::metrics::record_reply(self.station.name(), arrival.elapsed(), code);
        if let Err(status) = &result {
            tracing::warn!(
                station = self.station.name(),
                request.key = key,
                code = ?status.code(),
                error = status.message(),
                "request failed"
            );
        }
        result
    }

    async fn run(
        &self,
        arrival: Instant,
        deadline: Option<Instant>,
        key: u64,
    ) -> Result<VisitReport, Status> {
        let served = self
            .station
            .visit(arrival, deadline)
            .await
            .inspect_err(|error| {
                if matches!(error, VisitError::CapacityReached { .. }) {
                    queuelab_telemetry::metrics::record_loss(self.station.name());
                }
            })?;
        queuelab_telemetry::metrics::record_visit(
            self.station.name(),
            served.waiting,
            served.service,
        );

        let mut calls_made = 0;
        for index in 0..self.downstream.len() {
            if served.calls & (1 << index) == 0 {
                continue;
            }
            let sent = Instant::now();
            let result = self.downstream.call(index, key, deadline).await;
            let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
            self.station.record_call(index, sent.elapsed(), code);
            result?;
            calls_made += 1;
        }

        Ok(VisitReport {
            calls_made,
            service: served.service,
        })
    }
}

/// Parses the `grpc-timeout` header: up to 8 digits and a unit (H, M, S, m,
/// u, n), as the gRPC over HTTP/2 protocol defines it. A missing or invalid
/// header means no deadline.
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Some(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata_with(value: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", value.parse().unwrap());
        metadata
    }

    #[test]
    fn grpc_timeout_units() {
        let cases = [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("5S", Duration::from_secs(5)),
            ("250m", Duration::from_millis(250)),
            ("750u", Duration::from_micros(750)),
            ("99999999n", Duration::from_nanos(99_999_999)),
        ];
        for (header, expected) in cases {
            assert_eq!(
                grpc_timeout(&metadata_with(header)),
                Some(expected),
                "header {header}"
            );
        }
    }

    #[test]
    fn grpc_timeout_rejects_invalid() {
        for header in ["", "S", "123456789S", "12x", "-1S", "1.5S"] {
            let metadata = if header.is_empty() {
                MetadataMap::new()
            } else {
                metadata_with(header)
            };
            assert_eq!(grpc_timeout(&metadata), None, "header {header:?}");
        }
    }
}
