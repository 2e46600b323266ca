//! The metrics every station and client emits, each defined once here.
//!
//! Names and units follow the OpenTelemetry semantic conventions where they
//! define the quantity (`rpc.server.call.duration`, `rpc.client.call.duration`
//! in seconds). The queueing figures of a station use the `queuelab.station`
//! prefix. Attributes stay few: the station, the gRPC method and the status
//! code.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};

/// Attribute naming the station that records a figure.
pub const STATION_KEY: &str = "queuelab.station";
/// Attribute with the full gRPC method, such as
/// `queuelab.v1.UserService/GetUser`.
pub const METHOD_KEY: &str = "rpc.method";
/// Attribute with the gRPC status code name, such as `OK` or
/// `RESOURCE_EXHAUSTED`.
pub const STATUS_KEY: &str = "rpc.response.status_code";

/// Bucket bounds of the time histograms, in seconds: 10 µs to 10 s, about
/// three per decade, because service times at a station run from microseconds to tens of
/// milliseconds and the OpenTelemetry default bounds start at 5 ms.
const TIME_BOUNDS_S: [f64; 19] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The synchronous instruments, built once when export starts.
pub(crate) struct Instruments {
    server_duration: Histogram<f64>,
    client_duration: Histogram<f64>,
    requests: Counter<u64>,
    losses: Counter<u64>,
    sojourn_time: Histogram<f64>,
    waiting_time: Histogram<f64>,
    service_time: Histogram<f64>,
    _queue_length: ObservableGauge<u64>,
    _busy_servers: ObservableGauge<u64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

fn time_histogram(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(TIME_BOUNDS_S.to_vec())
        .build()
}

/// Builds the instruments on `meter`; called once by [`crate::init`].
pub(crate) fn install(meter: &Meter) {
    let instruments = Instruments {
        server_duration: time_histogram(
            meter,
            "rpc.server.call.duration",
            "Time from receiving a gRPC request to sending its response",
        ),
        client_duration: time_histogram(
            meter,
            "rpc.client.call.duration",
            "Time from sending a gRPC request to receiving its response",
        ),
        requests: meter
            .u64_counter("queuelab.station.requests")
            .with_unit("{request}")
            .with_description("Requests replied to by the station, by status code")
            .build(),
        losses: meter
            .u64_counter("queuelab.station.losses")
            .with_unit("{request}")
            .with_description("Arrivals rejected because the station held its capacity K")
            .build(),
        sojourn_time: time_histogram(
            meter,
            "queuelab.station.sojourn_time",
            "Arrival to reply at the station, downstream calls included",
        ),
        waiting_time: time_histogram(
            meter,
            "queuelab.station.waiting_time",
            "Arrival to server acquired",
        ),
        service_time: time_histogram(
            meter,
            "queuelab.station.service_time",
            "Server acquired to server released",
        ),
        _queue_length: meter
            .u64_observable_gauge("queuelab.station.queue_length")
            .with_unit("{request}")
            .with_description("Requests waiting for a server")
            .with_callback(|observer| {
                for (attributes, occupancy) in occupancies() {
                    observer.observe(occupancy.waiting(), &attributes);
                }
            })
            .build(),
        _busy_servers: meter
            .u64_observable_gauge("queuelab.station.busy_servers")
            .with_unit("{server}")
            .with_description("Servers holding a request")
            .with_callback(|observer| {
                for (attributes, occupancy) in occupancies() {
                    observer.observe(occupancy.busy(), &attributes);
                }
            })
            .build(),
    };
    let _ = INSTRUMENTS.set(instruments);
}

/// Returns the instruments while export is on.
fn instruments() -> Option<&'static Instruments> {
    if !crate::enabled() {
        return None;
    }
    INSTRUMENTS.get()
}

/// Returns the upper-case name of a gRPC status code, such as
/// `RESOURCE_EXHAUSTED`, as gRPC's status code list spells it.
pub fn status_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Records one served gRPC call of `station` in `rpc.server.call.duration`.
pub fn record_server_call(station: &str, method: &str, code: tonic::Code, duration: Duration) {
    let Some(instruments) = instruments() else {
        return;
    };
    let attributes = [
        KeyValue::new(STATION_KEY, station.to_owned()),
        KeyValue::new(METHOD_KEY, method.to_owned()),
        KeyValue::new(STATUS_KEY, status_name(code)),
    ];
    instruments
        .server_duration
        .record(duration.as_secs_f64(), &attributes);
}

/// Records one outgoing gRPC call made by `caller` in
/// `rpc.client.call.duration`.
pub fn record_client_call(caller: &str, method: &str, code: tonic::Code, duration: Duration) {
    let Some(instruments) = instruments() else {
        return;
    };
    let attributes = [
        KeyValue::new(STATION_KEY, caller.to_owned()),
        KeyValue::new(METHOD_KEY, method.to_owned()),
        KeyValue::new(STATUS_KEY, status_name(code)),
    ];
    instruments
        .client_duration
        .record(duration.as_secs_f64(), &attributes);
}

/// Records a reply of `station` after `sojourn` (arrival to reply), with
/// status `code`: one request and one sojourn time.
pub fn record_reply(station: &str, sojourn: Duration, code: tonic::Code) {
    let Some(instruments) = instruments() else {
        return;
    };
    let attributes = [
        KeyValue::new(STATION_KEY, station.to_owned()),
        KeyValue::new(STATUS_KEY, status_name(code)),
    ];
    instruments.requests.add(1, &attributes);
    instruments
        .sojourn_time
        .record(sojourn.as_secs_f64(), &attributes);
}

/// Records an arrival that `station` rejected because it was full.
pub fn record_loss(station: &str) {
    let Some(instruments) = instruments() else {
        return;
    };
    instruments
        .losses
        .add(1, &[KeyValue::new(STATION_KEY, station.to_owned())]);
}

/// Records the waiting and service time of one visit to `station`, both in
/// the station's histograms and as attributes of the current span (the
/// server span of the request), `queuelab.waiting_time_s` and
/// `queuelab.service_time_s`.
pub fn record_visit(station: &str, waiting: Duration, service: Duration) {
    let Some(instruments) = instruments() else {
        return;
    };
    let span = tracing::Span::current();
    span.record(crate::rpc::WAITING_TIME_FIELD, waiting.as_secs_f64());
    span.record(crate::rpc::SERVICE_TIME_FIELD, service.as_secs_f64());

    let attributes = [KeyValue::new(STATION_KEY, station.to_owned())];
    instruments
        .waiting_time
        .record(waiting.as_secs_f64(), &attributes);
    instruments
        .service_time
        .record(service.as_secs_f64(), &attributes);
}

/// The number of requests present at a station and its server count, read
/// when the gauges are collected.
struct Occupancy {
    station: String,
    servers: u32,
    present: Box<dyn Fn() -> u32 + Send + Sync>,
}

impl Occupancy {
    /// Requests waiting: those present beyond the c servers, because FCFS
    /// servers never idle while a request waits.
    fn waiting(&self) -> u64 {
        u64::from((self.present)().saturating_sub(self.servers))
    }

    /// Busy servers: min(present, c), for the same reason.
    fn busy(&self) -> u64 {
        u64::from((self.present)().min(self.servers))
    }
}

/// The stations whose occupancy the gauges report; an entry goes away when
/// its [`OccupancyWatch`] is dropped.
static OCCUPANCIES: Mutex<Vec<Weak<Occupancy>>> = Mutex::new(Vec::new());

fn occupancies() -> Vec<([KeyValue; 1], Arc<Occupancy>)> {
    let mut entries = OCCUPANCIES
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    entries.retain(|entry| entry.strong_count() > 0);
    entries
        .iter()
        .filter_map(Weak::upgrade)
        .map(|occupancy| {
            let attributes = [KeyValue::new(STATION_KEY, occupancy.station.clone())];
            (attributes, occupancy)
        })
        .collect()
}

/// Keeps a station in the `queuelab.station.queue_length` and
/// `queuelab.station.busy_servers` gauges until dropped.
#[must_use = "the station leaves the gauges when the watch is dropped"]
pub struct OccupancyWatch {
    _occupancy: Option<Arc<Occupancy>>,
}

impl std::fmt::Debug for OccupancyWatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let station = self._occupancy.as_ref().map(|entry| entry.station.as_str());
        formatter
            .debug_struct("OccupancyWatch")
            .field("station", &station)
            .finish()
    }
}

/// Reports the occupancy of `station`, which has `servers` servers, in the
/// gauges: `present` returns the requests present now (waiting plus in
/// service) and is called at each metric collection. While export is off it
/// is not kept, and the watch does nothing.
pub fn watch_occupancy(
    station: &str,
    servers: u32,
    present: impl Fn() -> u32 + Send + Sync + 'static,
) -> OccupancyWatch {
    if !crate::enabled() {
        return OccupancyWatch { _occupancy: None };
    }
    let occupancy = Arc::new(Occupancy {
        station: station.to_owned(),
        servers,
        present: Box::new(present),
    });
    OCCUPANCIES
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .push(Arc::downgrade(&occupancy));
    OccupancyWatch {
        _occupancy: Some(occupancy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occupancy(present: u32, servers: u32) -> Occupancy {
        Occupancy {
            station: "user".to_owned(),
            servers,
            present: Box::new(move || present),
        }
    }

    #[test]
    fn occupancy_splits_waiting_and_busy() {
        // (present, servers, waiting, busy)
        let cases = [
            (0, 2, 0, 0),
            (1, 2, 0, 1),
            (2, 2, 0, 2),
            (7, 2, 5, 2),
            (3, 1, 2, 1),
        ];
        for (present, servers, waiting, busy) in cases {
            let entry = occupancy(present, servers);
            assert_eq!(entry.waiting(), waiting, "present {present}, c {servers}");
            assert_eq!(entry.busy(), busy, "present {present}, c {servers}");
        }
    }

    #[test]
    fn status_names_match_grpc() {
        assert_eq!(status_name(tonic::Code::Ok), "OK");
        assert_eq!(
            status_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(
            status_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }
}
