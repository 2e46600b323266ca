//! Figures that the stations and the load generator measured over one window.

use std::collections::BTreeMap;
use std::io::Cursor;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use queuelab_agent::AgentReport;

/// The largest serialized histogram accepted, in bytes: 1 MiB.
///
/// A histogram of durations from 1 ns to an hour at 3 significant digits
/// serializes to a few tens of KiB even uncompressed, so anything larger is
/// corrupt or hostile and is rejected before it is decoded.
pub const MAX_HISTOGRAM_BYTES: usize = 1 << 20;

/// A histogram that could not be used, with who sent it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// Larger than [`MAX_HISTOGRAM_BYTES`].
    #[error("histogram {field} from {sender} is {size} bytes, above the limit of {limit} bytes")]
    TooLarge {
        /// Sender: a station name or "load generator".
        sender: String,
        /// Which histogram.
        field: String,
        /// Its size, bytes.
        size: usize,
        /// The limit, bytes.
        limit: usize,
    },
    /// Not a valid serialized HdrHistogram.
    #[error("histogram {field} from {sender} is not a valid serialized HdrHistogram: {reason}")]
    Corrupt {
        /// Sender name.
        sender: String,
        /// Which histogram.
        field: String,
        /// Message of the decoder.
        reason: String,
    },
}

/// Decodes a serialized HdrHistogram (V2 or V2 with DEFLATE) sent by `sender`.
pub fn decode_histogram(
    bytes: &[u8],
    sender: &str,
    field: &str,
) -> Result<Histogram<u64>, HistogramError> {
    if bytes.len() > MAX_HISTOGRAM_BYTES {
        return Err(HistogramError::TooLarge {
            sender: sender.to_owned(),
            field: field.to_owned(),
            size: bytes.len(),
            limit: MAX_HISTOGRAM_BYTES,
        });
    }
    Deserializer::new()
        .deserialize(&mut Cursor::new(bytes))
        .map_err(|error| HistogramError::Corrupt {
            sender: sender.to_owned(),
            field: field.to_owned(),
            reason: format!("{error:?}"),
        })
}

/// One station's figures over a window. Histograms hold nanoseconds.
#[derive(Debug, Clone)]
pub struct StationMeasurement {
    /// Station name.
    pub name: String,
    /// Servers c the station ran with.
    pub servers: u32,
    /// Window length, seconds.
    pub window_length_s: f64,
    /// Arrivals in the window, lost and dropped ones included.
    pub arrivals: u64,
    /// Completed services.
    pub completions: u64,
    /// Arrivals rejected because capacity K was reached.
    pub losses: u64,
    /// Requests dropped from the queue when their deadline passed.
    pub deadline_drops: u64,
    /// Server time held inside the window, summed over servers, seconds.
    pub busy_server_s: f64,
    /// Arrival to server acquired.
    pub waiting_time_ns: Histogram<u64>,
    /// Server acquired to server released.
    pub service_time_ns: Histogram<u64>,
    /// Waiting plus service.
    pub sojourn_time_ns: Histogram<u64>,
    /// Arrival to reply.
    pub handling_time_ns: Histogram<u64>,
    /// Arrival to the station taking the request into its queue. This is the
    /// runtime's dispatch delay, part of the waiting time. It is empty when the
    /// station does not report it.
    pub dispatch_delay_ns: Histogram<u64>,
    /// How much longer than drawn each service took, realized minus drawn
    /// service time; 0 for a service that ended on time or early. It is
    /// empty when the station does not report it.
    pub hold_lateness_ns: Histogram<u64>,
    /// Caller-side figures of each outgoing call.
    pub calls: Vec<CallMeasurement>,
    /// The station's own CPU, memory and I/O report, if its agent sent one.
    pub agent: Option<AgentReport>,
}

/// Caller-side figures of one outgoing call.
#[derive(Debug, Clone)]
pub struct CallMeasurement {
    /// Called station.
    pub to: String,
    /// Latency measured by the caller, nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Completed calls by gRPC status code.
    pub statuses: BTreeMap<i32, u64>,
}

/// A station's figures, or why there are none.
#[derive(Debug, Clone)]
pub enum StationInput {
    /// Figures the station sent.
    Measured(Box<StationMeasurement>),
    /// No usable figures: the station did not reply, or its figures were rejected.
    Missing {
        /// Station name.
        name: String,
        /// Why, in one line.
        reason: String,
    },
}

impl StationInput {
    /// Returns the station's name.
    pub fn name(&self) -> &str {
        match self {
            StationInput::Measured(measurement) => &measurement.name,
            StationInput::Missing { name, .. } => name,
        }
    }
}

/// The load generator's figures over the same window.
#[derive(Debug, Clone)]
pub struct LoadMeasurement {
    /// Window length, seconds.
    pub window_length_s: f64,
    /// Requests sent.
    pub sent: u64,
    /// Replies received with status OK.
    pub completed: u64,
    /// Replies by gRPC status code, OK included, plus timeouts under code 4.
    pub statuses: BTreeMap<i32, u64>,
    /// Requests not sent because the in-flight cap was reached.
    pub dropped_by_cap: u64,
    /// End-to-end latency from the intended send time, nanoseconds.
    pub latency_ns: Histogram<u64>,
}

impl LoadMeasurement {
    /// Returns the external arrival rate of the window: requests sent per second.
    pub fn external_rate(&self) -> f64 {
        self.sent as f64 / self.window_length_s
    }
}
