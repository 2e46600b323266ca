//! One measurement window: the histograms and counters of the requests
//! scheduled in it, and the figures it reports when it ends.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use queuelab_telemetry::metrics::status_name;
use serde::{Deserialize, Serialize};

/// Highest value the histograms track, in nanoseconds (1 hour). Larger
/// values are recorded as this value.
const HIGHEST_TRACKABLE_NS: u64 = 3_600_000_000_000;

/// Significant decimal digits the histograms keep (0.1 % resolution).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Send-lateness p99 above which a window reports that the generator did
/// not keep up with its schedule, by default.
pub const DEFAULT_MAX_SEND_LATENESS_P99: Duration = Duration::from_millis(1);

/// Records the requests scheduled in one window.
///
/// A request belongs to the window its scheduled send time falls in, even
/// when it is sent late or its reply arrives after the window ends.
#[derive(Debug, Clone)]
pub struct WindowRecorder {
    rate_per_s: f64,
    latency_ns: Histogram<u64>,
    send_lateness_ns: Histogram<u64>,
    sent: u64,
    ok: u64,
    timeouts: u64,
    dropped_by_cap: u64,
    errors_by_status: BTreeMap<String, u64>,
}

impl WindowRecorder {
    /// Starts an empty window whose schedule runs at `rate_per_s`.
    pub fn new(rate_per_s: f64) -> Self {
        Self {
            rate_per_s,
            latency_ns: new_histogram(),
            send_lateness_ns: new_histogram(),
            sent: 0,
            ok: 0,
            timeouts: 0,
            dropped_by_cap: 0,
            errors_by_status: BTreeMap::new(),
        }
    }

    /// Records a request that was sent `lateness` after its scheduled time.
    pub fn record_send(&mut self, lateness: Duration) {
        self.sent += 1;
        self.send_lateness_ns
            .saturating_record(duration_ns(lateness));
    }

    /// Records a request that was due but not sent because the cap on
    /// requests in flight was reached.
    pub fn record_dropped_by_cap(&mut self) {
        self.dropped_by_cap += 1;
    }

    /// Records a reply with status `code`, `latency` after the request's
    /// scheduled send time.
    ///
    /// Only OK replies enter the latency histogram: an error reply, such as
    /// an immediate RESOURCE_EXHAUSTED rejection, is counted by status.
    pub fn record_reply(&mut self, code: tonic::Code, latency: Duration) {
        if code == tonic::Code::Ok {
            self.ok += 1;
            self.latency_ns.saturating_record(duration_ns(latency));
        } else {
            *self
                .errors_by_status
                .entry(status_name(code).to_owned())
                .or_insert(0) += 1;
        }
    }

    /// Records a request whose reply did not arrive within the per-request
    /// timeout.
    pub fn record_timeout(&mut self) {
        self.timeouts += 1;
    }

    /// Adds the counts and histograms of `other`, a recorder of the same
    /// window (the generator keeps sends and replies on different threads).
    pub fn merge(&mut self, other: &WindowRecorder) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.timeouts += other.timeouts;
        self.dropped_by_cap += other.dropped_by_cap;
        for (status, count) in &other.errors_by_status {
            *self.errors_by_status.entry(status.clone()).or_insert(0) += count;
        }
        self.latency_ns
            .add(&other.latency_ns)
            .expect("histograms with the same bounds add up");
        self.send_lateness_ns
            .add(&other.send_lateness_ns)
            .expect("histograms with the same bounds add up");
    }

    /// Returns the number of requests sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Returns the number of OK replies so far.
    pub fn ok(&self) -> u64 {
        self.ok
    }

    /// Returns the number of requests dropped by the in-flight cap so far.
    pub fn dropped_by_cap(&self) -> u64 {
        self.dropped_by_cap
    }

    /// Returns the end-to-end latency at `quantile` (0 to 1) of the OK
    /// replies so far, or `None` before the first one.
    pub fn latency_at_quantile(&self, quantile: f64) -> Option<Duration> {
        quantile_of(&self.latency_ns, quantile).map(Duration::from_nanos)
    }

    /// Returns the send lateness at `quantile` (0 to 1) so far, or `None`
    /// before the first send.
    pub fn send_lateness_at_quantile(&self, quantile: f64) -> Option<Duration> {
        quantile_of(&self.send_lateness_ns, quantile).map(Duration::from_nanos)
    }

    /// Ends the window and computes its figures.
    ///
    /// `duration` is the window's scheduled length, the denominator of its
    /// rates, and `start_offset` its start from the start of the run.
    /// `max_send_lateness_p99` is the send-lateness p99 above which the
    /// window reports that the generator fell behind its schedule.
    pub fn finish(
        self,
        start_offset: Duration,
        duration: Duration,
        max_send_lateness_p99: Duration,
    ) -> WindowReport {
        let duration_s = duration.as_secs_f64();
        let errors: u64 = self.errors_by_status.values().sum();
        let send_lateness_p99_ns = quantile_of(&self.send_lateness_ns, 0.99).unwrap_or(0);
        let overloads = overload_errors(&self.errors_by_status);

        let summary = WindowSummary {
            start_offset_s: start_offset.as_secs_f64(),
            duration_s,
            target_rate_per_s: self.rate_per_s,
            sent: self.sent,
            completed: self.ok + errors,
            ok: self.ok,
            errors,
            errors_by_status: self.errors_by_status,
            timeouts: self.timeouts,
            dropped_by_cap: self.dropped_by_cap,
            achieved_rate_per_s: self.sent as f64 / duration_s,
            throughput_per_s: self.ok as f64 / duration_s,
            latency: LatencySummary::of(&self.latency_ns),
            send_lateness_p50_s: quantile_s(&self.send_lateness_ns, 0.5),
            send_lateness_p99_s: quantile_s(&self.send_lateness_ns, 0.99),
            send_lateness_max_s: (!self.send_lateness_ns.is_empty())
                .then(|| ns_to_s(self.send_lateness_ns.max())),
            generator_kept_up: send_lateness_p99_ns <= duration_ns(max_send_lateness_p99),
            target_kept_up: self.dropped_by_cap == 0 && self.timeouts == 0 && overloads == 0,
        };

        WindowReport {
            summary,
            latency_ns: self.latency_ns,
            send_lateness_ns: self.send_lateness_ns,
        }
    }
}

/// The figures of one finished window, with its histograms.
#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    /// Counters, rates and quantiles, in SI units.
    #[serde(flatten)]
    pub summary: WindowSummary,
    /// End-to-end latency of the OK replies, from scheduled send time to
    /// reply, in nanoseconds.
    #[serde(skip)]
    pub latency_ns: Histogram<u64>,
    /// How late each send was against its schedule, in nanoseconds.
    #[serde(skip)]
    pub send_lateness_ns: Histogram<u64>,
}

/// Counters, rates and quantiles of one window. Times are in seconds, rates
/// in requests per second; a quantile is `None` when nothing was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// Start of the window from the start of the run (warm-up included).
    pub start_offset_s: f64,
    /// Scheduled length of the window.
    pub duration_s: f64,
    /// Target arrival rate λ of the schedule.
    pub target_rate_per_s: f64,
    /// Requests sent (not counting those dropped by the cap).
    pub sent: u64,
    /// Replies received, with any status.
    pub completed: u64,
    /// Replies with status OK.
    pub ok: u64,
    /// Replies with a status other than OK.
    pub errors: u64,
    /// Replies other than OK by gRPC status name, such as `UNAVAILABLE`.
    pub errors_by_status: BTreeMap<String, u64>,
    /// Requests with no reply within the per-request timeout.
    pub timeouts: u64,
    /// Requests due but not sent because the in-flight cap was reached.
    pub dropped_by_cap: u64,
    /// Requests sent per second of window: the arrival rate the target saw.
    pub achieved_rate_per_s: f64,
    /// OK replies per second of window.
    pub throughput_per_s: f64,
    /// End-to-end latency of OK replies, from scheduled send time to reply.
    pub latency: LatencySummary,
    /// Median of how late sends were against their schedule.
    pub send_lateness_p50_s: Option<f64>,
    /// 99th percentile of how late sends were against their schedule.
    pub send_lateness_p99_s: Option<f64>,
    /// Latest send against its schedule.
    pub send_lateness_max_s: Option<f64>,
    /// Whether the send-lateness p99 stayed under the allowed bound.
    pub generator_kept_up: bool,
    /// Whether the target kept up: no drops by the cap, no timeouts, and
    /// no RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED replies.
    pub target_kept_up: bool,
}

/// Mean and quantiles of a latency histogram, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Arithmetic mean.
    pub mean_s: Option<f64>,
    /// Median.
    pub p50_s: Option<f64>,
    /// 90th percentile.
    pub p90_s: Option<f64>,
    /// 99th percentile.
    pub p99_s: Option<f64>,
    /// 99.9th percentile.
    pub p99_9_s: Option<f64>,
    /// Maximum.
    pub max_s: Option<f64>,
}

impl LatencySummary {
    /// Computes the summary of a histogram of nanoseconds.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let empty = histogram.is_empty();
        Self {
            mean_s: (!empty).then(|| histogram.mean() / 1e9),
            p50_s: quantile_s(histogram, 0.5),
            p90_s: quantile_s(histogram, 0.9),
            p99_s: quantile_s(histogram, 0.99),
            p99_9_s: quantile_s(histogram, 0.999),
            max_s: (!empty).then(|| ns_to_s(histogram.max())),
        }
    }
}

/// Counts the replies that show the target was overloaded: rejected at its
/// capacity (RESOURCE_EXHAUSTED) or out of time (DEADLINE_EXCEEDED).
pub fn overload_errors(errors_by_status: &BTreeMap<String, u64>) -> u64 {
    ["RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"]
        .iter()
        .filter_map(|status| errors_by_status.get(*status))
        .sum()
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_NS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

fn duration_ns(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn ns_to_s(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn quantile_of(histogram: &Histogram<u64>, quantile: f64) -> Option<u64> {
    (!histogram.is_empty()).then(|| histogram.value_at_quantile(quantile))
}

fn quantile_s(histogram: &Histogram<u64>, quantile: f64) -> Option<f64> {
    quantile_of(histogram, quantile).map(ns_to_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_counts_and_rates() {
        let mut window = WindowRecorder::new(100.0);
        for _ in 0..4 {
            window.record_send(Duration::from_micros(10));
        }
        window.record_dropped_by_cap();
        window.record_reply(tonic::Code::Ok, Duration::from_millis(2));
        window.record_reply(tonic::Code::Ok, Duration::from_millis(4));
        window.record_reply(tonic::Code::Unavailable, Duration::from_millis(1));
        window.record_timeout();

        let report = window.finish(
            Duration::ZERO,
            Duration::from_secs(2),
            Duration::from_millis(1),
        );
        let summary = &report.summary;

        assert_eq!(summary.sent, 4);
        assert_eq!(summary.completed, 3);
        assert_eq!(summary.ok, 2);
        assert_eq!(summary.errors, 1);
        assert_eq!(summary.errors_by_status.get("UNAVAILABLE"), Some(&1));
        assert_eq!(summary.timeouts, 1);
        assert_eq!(summary.dropped_by_cap, 1);
        assert_eq!(summary.achieved_rate_per_s, 2.0);
        assert_eq!(summary.throughput_per_s, 1.0);
        assert!(summary.generator_kept_up);
        assert!(!summary.target_kept_up);
    }

    #[test]
    fn merge_adds_both_sides() {
        let mut sends = WindowRecorder::new(100.0);
        sends.record_send(Duration::from_micros(5));
        sends.record_send(Duration::from_micros(7));
        sends.record_dropped_by_cap();
        let mut replies = WindowRecorder::new(100.0);
        replies.record_reply(tonic::Code::Ok, Duration::from_millis(3));
        replies.record_reply(tonic::Code::Internal, Duration::from_millis(1));

        sends.merge(&replies);

        assert_eq!(sends.sent(), 2);
        assert_eq!(sends.ok(), 1);
        assert_eq!(sends.dropped_by_cap(), 1);
        let p50 = sends.latency_at_quantile(0.5).unwrap();
        assert!(p50.abs_diff(Duration::from_millis(3)) < Duration::from_micros(3));
        let summary = sends
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary;
        assert_eq!(summary.errors_by_status.get("INTERNAL"), Some(&1));
    }

    #[test]
    fn latency_summary_quantiles() {
        let mut window = WindowRecorder::new(100.0);
        // Latencies 1 ms .. 100 ms: the median is 50 ms, p99 is 99 ms and
        // the mean 50.5 ms, within the histogram's 0.1 % resolution.
        for ms in 1..=100 {
            window.record_reply(tonic::Code::Ok, Duration::from_millis(ms));
        }

        let latency = window
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary
            .latency;

        let close = |actual: Option<f64>, expected: f64| {
            let actual = actual.expect("quantile of a non-empty histogram");
            (actual - expected).abs() <= expected * 1e-3
        };
        assert!(close(latency.p50_s, 0.050), "p50 {:?}", latency.p50_s);
        assert!(close(latency.p99_s, 0.099), "p99 {:?}", latency.p99_s);
        assert!(close(latency.max_s, 0.100), "max {:?}", latency.max_s);
        assert!(close(latency.mean_s, 0.0505), "mean {:?}", latency.mean_s);
    }

    #[test]
    fn overload_replies_mark_target_behind() {
        let mut window = WindowRecorder::new(100.0);
        window.record_send(Duration::from_micros(5));
        window.record_reply(tonic::Code::ResourceExhausted, Duration::from_micros(300));

        let summary = window
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary;

        assert!(!summary.target_kept_up);
    }

    #[test]
    fn other_errors_keep_target_status() {
        let mut window = WindowRecorder::new(100.0);
        window.record_send(Duration::from_micros(5));
        window.record_reply(tonic::Code::Unavailable, Duration::from_micros(300));

        let summary = window
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary;

        assert!(summary.target_kept_up);
    }

    #[test]
    fn late_sends_mark_generator_behind() {
        let mut window = WindowRecorder::new(100.0);
        for _ in 0..10 {
            window.record_send(Duration::from_millis(5));
        }

        let summary = window
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary;

        assert!(!summary.generator_kept_up);
    }

    #[test]
    fn empty_window_has_no_quantiles() {
        let summary = WindowRecorder::new(10.0)
            .finish(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_millis(1),
            )
            .summary;

        assert_eq!(summary.latency.p99_s, None);
        assert_eq!(summary.send_lateness_p99_s, None);
        assert!(summary.generator_kept_up);
    }
}
