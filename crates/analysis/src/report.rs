//! The comparison report: measured beside predicted, in SI units.
//!
//! Its keys follow `queuelab model --json`, so one script can read both.

use std::collections::BTreeMap;

use queuelab_agent::Indicator;
use queuelab_engine::{QuantilePoint, Quantiles};
use serde::{Deserialize, Serialize};

/// The whole report of one experiment window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Origin of the topology: a file name or the built-in reference.
    pub topology: String,
    /// Length of the measured window, seconds.
    pub window_length: f64,
    /// Measured external arrival rate: requests sent per second.
    pub external_rate: f64,
    /// Request counts over the window.
    pub counts: Counts,
    /// The model's bottleneck station.
    pub bottleneck: String,
    /// The model's largest stable external rate, per second.
    pub max_external_rate: f64,
    /// One entry per station of the topology, in its order.
    pub stations: Vec<StationComparison>,
    /// End-to-end response time.
    pub end_to_end: EndToEndComparison,
    /// Transport overhead of the calls, as measured and as used by the model.
    pub transport_overhead: TransportOverhead,
    /// Agent indicators that fired, per station.
    pub indicators: Vec<StationIndicator>,
    /// The assumptions behind the predictions.
    pub assumptions: Vec<String>,
}

/// Request counts over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests the load generator sent.
    pub sent: u64,
    /// Replies with status OK.
    pub completed: u64,
    /// Replies by status name, OK excluded.
    pub errors: BTreeMap<String, u64>,
    /// Requests the load generator could not send because of its in-flight cap.
    pub dropped_by_cap: u64,
    /// Arrivals lost at full stations, summed over stations.
    pub station_losses: u64,
    /// Requests dropped from queues by expired deadlines, summed over stations.
    pub deadline_drops: u64,
}

/// Measured and predicted figures of one station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationComparison {
    /// Station name.
    pub name: String,
    /// "measured", or "missing" when the station sent no usable figures.
    pub status: String,
    /// Reason the station is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_reason: Option<String>,
    /// Figures the station measured.
    pub measured: Option<StationFigures>,
    /// The model's figures at the measured external rate; `None` when unstable.
    pub predicted: Option<StationFigures>,
    /// (measured − predicted) / predicted for each figure.
    pub relative_error: Option<StationErrors>,
    /// Mean dispatch delay the station measured, seconds: arrival to its
    /// thread taking the request in. The predicted waiting and sojourn times
    /// include it.
    pub dispatch_delay: Option<f64>,
    /// 99th percentile of how late the station's holds ended (realized
    /// minus drawn service time, 0 when on time), seconds: the error of the
    /// emulated service times. `None` when the station does not report it.
    pub hold_lateness_p99: Option<f64>,
    /// The station's own counts over its window, when measured.
    pub counts: Option<StationCounts>,
}

/// One station's counts over its own window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationCounts {
    /// Length of the station's window, seconds; it brackets the load generator's.
    pub window_length: f64,
    /// Arrivals, lost and dropped ones included.
    pub arrivals: u64,
    /// Completed services.
    pub completions: u64,
    /// Arrivals lost because capacity K was reached.
    pub losses: u64,
    /// Requests dropped when their deadline passed while waiting.
    pub deadline_drops: u64,
}

/// One station's figures, measured or predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationFigures {
    /// Arrival rate, per second.
    pub arrival_rate: f64,
    /// Utilization: busy server-seconds / (c × window), or λ/(c·μ) predicted.
    pub utilization: f64,
    /// Mean waiting time, seconds.
    pub mean_waiting_time: f64,
    /// Mean sojourn time (waiting + service), seconds.
    pub mean_sojourn_time: f64,
    /// Sojourn-time quantiles, seconds.
    pub sojourn_time: Quantiles,
    /// Mean service time, seconds.
    pub mean_service_time: f64,
    /// Squared coefficient of variation of the service time.
    pub service_time_scv: f64,
    /// Sojourn-time percentile spectrum, for plots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sojourn_time_spectrum: Vec<QuantilePoint>,
}

/// Relative errors of one station's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationErrors {
    /// Of the arrival rate.
    pub arrival_rate: f64,
    /// Of the utilization.
    pub utilization: f64,
    /// Of the mean sojourn time.
    pub mean_sojourn_time: f64,
    /// Of the sojourn-time p50.
    pub p50: f64,
    /// Of the sojourn-time p90.
    pub p90: f64,
    /// Of the sojourn-time p99.
    pub p99: f64,
}

/// End-to-end response time, measured and predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndToEndComparison {
    /// Measured by the load generator from each request's intended send time.
    pub measured: Option<ResponseFigures>,
    /// Predicted; `None` when a station is unstable at the measured rate.
    pub predicted: Option<ResponseFigures>,
    /// (measured − predicted) / predicted.
    pub relative_error: Option<ResponseErrors>,
    /// Method used for the predicted quantiles.
    pub method: String,
}

/// End-to-end figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFigures {
    /// Mean response time, seconds.
    pub mean_response_time: f64,
    /// Response-time quantiles, seconds.
    pub response_time: Quantiles,
    /// Percentile spectrum, for plots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_time_spectrum: Vec<QuantilePoint>,
}

/// Relative errors of the end-to-end figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseErrors {
    /// Of the mean.
    pub mean_response_time: f64,
    /// Of the p50.
    pub p50: f64,
    /// Of the p90.
    pub p90: f64,
    /// Of the p99.
    pub p99: f64,
}

/// Transport overhead: caller latency minus the callee's handling time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransportOverhead {
    /// Mean overhead per call over all measured calls, seconds; the model adds
    /// it to every visit, the load generator's call to the entry included.
    pub mean_per_call: f64,
    /// Standard deviation of the overhead of a call drawn from all measured calls, seconds.
    pub stdev_per_call: f64,
    /// Per call edge.
    pub calls: Vec<CallOverhead>,
}

/// The transport overhead of one call edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallOverhead {
    /// Calling station.
    pub from: String,
    /// Called station.
    pub to: String,
    /// Calls made in the window.
    pub calls: u64,
    /// Calls that failed, any status other than OK.
    pub failed: u64,
    /// Mean latency the caller measured, seconds.
    pub mean_latency: f64,
    /// Mean handling time the callee measured, seconds.
    pub callee_mean_handling_time: f64,
    /// The difference of the means: the mean overhead, seconds.
    pub overhead: f64,
    /// Standard deviation of the overhead, seconds, from the difference of
    /// the two variances (the overhead taken as independent of the handling time).
    pub overhead_stdev: f64,
}

/// An agent indicator that fired at one station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StationIndicator {
    /// The stations whose agents raised it, comma-separated: several when
    /// they share a host and the indicator is about the host.
    pub station: String,
    /// The indicator.
    #[serde(flatten)]
    pub indicator: Indicator,
}
