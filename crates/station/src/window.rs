//! The figures of one measurement window.
//!
//! Request tasks and the station's thread do not record into a
//! [`WindowRecorder`] themselves: they send records over the station's
//! channel, which takes no lock. The recorder sits behind a lock of its own
//! that only the drains take: every 64th release, and the window operations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use queuelab_proto::v1::{CallFigures as CallFiguresMessage, StatusCount, WindowFigures};
use tonic::Code;

/// Largest duration a histogram records, in nanoseconds (100 s); larger
/// values are recorded as this value.
const HISTOGRAM_MAX_NS: u64 = 100_000_000_000;

/// Significant decimal digits of every histogram.
const HISTOGRAM_SIGFIG: u8 = 3;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, HISTOGRAM_SIGFIG)
        .expect("1 ns to 100 s with 3 significant digits is a valid histogram range")
}

fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    histogram.saturating_record(nanos.max(1));
}

fn serialize(histogram: &Histogram<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    V2Serializer::new()
        .serialize(histogram, &mut bytes)
        .expect("serializing a histogram into a Vec cannot fail");
    bytes
}

fn status_counts(counts: &BTreeMap<i32, u64>) -> Vec<StatusCount> {
    counts
        .iter()
        .map(|(&code, &count)| StatusCount { code, count })
        .collect()
}

/// Caller-side figures of one outgoing call.
#[derive(Debug)]
struct CallFigures {
    to: String,
    latency_ns: Histogram<u64>,
    statuses: BTreeMap<i32, u64>,
}

/// Counters and histograms; all durations in nanoseconds.
#[derive(Debug)]
struct Figures {
    arrivals: u64,
    completions: u64,
    losses: u64,
    deadline_drops: u64,
    replies: BTreeMap<i32, u64>,
    busy_server: Duration,
    waiting_ns: Histogram<u64>,
    service_ns: Histogram<u64>,
    sojourn_ns: Histogram<u64>,
    handling_ns: Histogram<u64>,
    hold_lateness_ns: Histogram<u64>,
    dispatch_delay_ns: Histogram<u64>,
    calls: Vec<CallFigures>,
}

impl Figures {
    fn new(call_targets: &[String]) -> Self {
        Self {
            arrivals: 0,
            completions: 0,
            losses: 0,
            deadline_drops: 0,
            replies: BTreeMap::new(),
            busy_server: Duration::ZERO,
            waiting_ns: new_histogram(),
            service_ns: new_histogram(),
            sojourn_ns: new_histogram(),
            handling_ns: new_histogram(),
            hold_lateness_ns: new_histogram(),
            dispatch_delay_ns: new_histogram(),
            calls: call_targets
                .iter()
                .map(|to| CallFigures {
                    to: to.clone(),
                    latency_ns: new_histogram(),
                    statuses: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// Resets every figure in place, keeping the histograms' memory.
    fn reset(&mut self) {
        self.arrivals = 0;
        self.completions = 0;
        self.losses = 0;
        self.deadline_drops = 0;
        self.replies.clear();
        self.busy_server = Duration::ZERO;
        self.waiting_ns.reset();
        self.service_ns.reset();
        self.sojourn_ns.reset();
        self.handling_ns.reset();
        self.hold_lateness_ns.reset();
        self.dispatch_delay_ns.reset();
        for call in &mut self.calls {
            call.latency_ns.reset();
            call.statuses.clear();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum WindowState {
    NeverStarted,
    Open {
        id: u64,
        start: Instant,
    },
    Closed {
        id: u64,
        start: Instant,
        end: Instant,
    },
}

/// Records a station's figures while a window is open.
#[derive(Debug)]
pub(crate) struct WindowRecorder {
    station: String,
    servers: u32,
    state: WindowState,
    figures: Figures,
}

impl WindowRecorder {
    pub(crate) fn new(station: &str, servers: u32, call_targets: &[String]) -> Self {
        Self {
            station: station.to_owned(),
            servers,
            state: WindowState::NeverStarted,
            figures: Figures::new(call_targets),
        }
    }

    /// Returns the open window's start, or `None` when no window is open.
    fn open_since(&self) -> Option<Instant> {
        match self.state {
            WindowState::Open { start, .. } => Some(start),
            _ => None,
        }
    }

    fn is_open(&self) -> bool {
        self.open_since().is_some()
    }

    /// Resets every figure and opens window `id` at `now`.
    pub(crate) fn start(&mut self, id: u64, now: Instant) {
        self.figures.reset();
        self.state = WindowState::Open { id, start: now };
    }

    /// Closes the open window at `now` and returns its figures, or `None`
    /// when no window is open. `holds_started` are the start times of the
    /// services still in progress: their busy time up to `now` counts.
    pub(crate) fn end(
        &mut self,
        now: Instant,
        holds_started: impl Iterator<Item = Instant>,
    ) -> Option<WindowFigures> {
        let WindowState::Open { id, start } = self.state else {
            return None;
        };
        self.figures.busy_server += busy_inside(start, now, holds_started);
        self.state = WindowState::Closed {
            id,
            start,
            end: now,
        };
        Some(self.snapshot(now, Duration::ZERO))
    }

    /// Returns the figures of the open window so far, or of the closed one,
    /// or `None` when no window was ever started.
    pub(crate) fn current(
        &self,
        now: Instant,
        holds_started: impl Iterator<Item = Instant>,
    ) -> Option<WindowFigures> {
        match self.state {
            WindowState::NeverStarted => None,
            WindowState::Open { start, .. } => {
                Some(self.snapshot(now, busy_inside(start, now, holds_started)))
            }
            WindowState::Closed { end, .. } => Some(self.snapshot(end, Duration::ZERO)),
        }
    }

    fn snapshot(&self, now: Instant, extra_busy: Duration) -> WindowFigures {
        let (id, start, open) = match self.state {
            WindowState::NeverStarted => (0, now, false),
            WindowState::Open { id, start } => (id, start, true),
            WindowState::Closed { id, start, .. } => (id, start, false),
        };
        let figures = &self.figures;
        WindowFigures {
            station: self.station.clone(),
            window_id: id,
            open,
            window_length_ns: nanos(now.saturating_duration_since(start)),
            servers: self.servers,
            arrivals: figures.arrivals,
            completions: figures.completions,
            losses: figures.losses,
            deadline_drops: figures.deadline_drops,
            replies: status_counts(&figures.replies),
            busy_server_ns: nanos(figures.busy_server + extra_busy),
            waiting_time_ns: serialize(&figures.waiting_ns),
            service_time_ns: serialize(&figures.service_ns),
            sojourn_time_ns: serialize(&figures.sojourn_ns),
            handling_time_ns: serialize(&figures.handling_ns),
            hold_lateness_ns: serialize(&figures.hold_lateness_ns),
            dispatch_delay_ns: serialize(&figures.dispatch_delay_ns),
            calls: figures
                .calls
                .iter()
                .map(|call| CallFiguresMessage {
                    to: call.to.clone(),
                    latency_ns: serialize(&call.latency_ns),
                    statuses: status_counts(&call.statuses),
                })
                .collect(),
            agent_report_json: String::new(),
        }
    }

    /// Records an arrival that the station thread took in `dispatch_delay`
    /// after the handler stamped it.
    pub(crate) fn record_arrival(&mut self, dispatch_delay: Duration) {
        if self.is_open() {
            self.figures.arrivals += 1;
            record(&mut self.figures.dispatch_delay_ns, dispatch_delay);
        }
    }

    pub(crate) fn record_loss(&mut self) {
        if self.is_open() {
            self.figures.arrivals += 1;
            self.figures.losses += 1;
        }
    }

    pub(crate) fn record_deadline_drop(&mut self) {
        if self.is_open() {
            self.figures.deadline_drops += 1;
        }
    }

    /// Records a service that ended at `released`: its waiting, service and
    /// sojourn time, how much longer than `drawn` it took, and the part of
    /// its hold that lies inside the window.
    pub(crate) fn record_service(
        &mut self,
        arrival: Instant,
        acquired: Instant,
        released: Instant,
        drawn: Duration,
    ) {
        let Some(start) = self.open_since() else {
            return;
        };
        let figures = &mut self.figures;
        figures.completions += 1;
        figures.busy_server += released.saturating_duration_since(acquired.max(start));
        record(&mut figures.waiting_ns, acquired - arrival);
        record(&mut figures.service_ns, released - acquired);
        record(&mut figures.sojourn_ns, released - arrival);
        let lateness = (released - acquired).saturating_sub(drawn);
        record(&mut figures.hold_lateness_ns, lateness);
    }

    /// Records a reply; the handling time only when the reply is OK.
    pub(crate) fn record_reply(&mut self, handling: Duration, code: Code) {
        if !self.is_open() {
            return;
        }
        *self.figures.replies.entry(code as i32).or_default() += 1;
        if code == Code::Ok {
            record(&mut self.figures.handling_ns, handling);
        }
    }

    /// Records one outgoing call; the latency only when the call succeeded,
    /// so that it compares with the callee's handling time.
    pub(crate) fn record_call(&mut self, call_index: usize, latency: Duration, code: Code) {
        if !self.is_open() {
            return;
        }
        let Some(call) = self.figures.calls.get_mut(call_index) else {
            return;
        };
        *call.statuses.entry(code as i32).or_default() += 1;
        if code == Code::Ok {
            record(&mut call.latency_ns, latency);
        }
    }
}

/// Sums the busy time of the holds still in progress that lies after `start`.
fn busy_inside(
    start: Instant,
    now: Instant,
    holds_started: impl Iterator<Item = Instant>,
) -> Duration {
    holds_started
        .map(|acquired| now.saturating_duration_since(acquired.max(start)))
        .sum()
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use hdrhistogram::serialization::Deserializer;

    use super::*;

    fn decode(bytes: &[u8]) -> Histogram<u64> {
        Deserializer::new().deserialize(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn recorder_ignores_events_outside_window() {
        let mut recorder = WindowRecorder::new("user", 2, &["database".to_owned()]);
        recorder.record_arrival(Duration::ZERO);
        assert!(
            recorder
                .current(Instant::now(), std::iter::empty())
                .is_none()
        );

        let t0 = Instant::now();
        recorder.start(1, t0);
        let figures = recorder.current(t0, std::iter::empty()).unwrap();
        assert_eq!(figures.arrivals, 0);
    }

    #[test]
    fn recorder_counts_service_and_busy_time() {
        let mut recorder = WindowRecorder::new("user", 2, &["database".to_owned()]);
        let t0 = Instant::now();
        recorder.start(9, t0);

        // One request: arrives at t0, waits 1 ms, is served for 2 ms.
        recorder.record_arrival(Duration::ZERO);
        let acquired = t0 + Duration::from_millis(1);
        let released = t0 + Duration::from_millis(3);
        recorder.record_service(t0, acquired, released, Duration::from_micros(1_990));

        // A second hold started at 4 ms is still running when the window ends at 10 ms.
        let end = t0 + Duration::from_millis(10);
        let still_running = t0 + Duration::from_millis(4);
        let figures = recorder.end(end, [still_running].into_iter()).unwrap();

        assert_eq!(figures.window_id, 9);
        assert!(!figures.open);
        assert_eq!(figures.window_length_ns, 10_000_000);
        assert_eq!(figures.arrivals, 1);
        assert_eq!(figures.completions, 1);
        // 2 ms of the finished hold plus 6 ms of the running one.
        assert_eq!(figures.busy_server_ns, 8_000_000);

        let service = decode(&figures.service_time_ns);
        assert_eq!(service.len(), 1);
        // 3 significant digits: within 0.1 % of 2 ms.
        assert!(service.equivalent(service.max(), 2_000_000));
        let sojourn = decode(&figures.sojourn_time_ns);
        assert!(sojourn.equivalent(sojourn.max(), 3_000_000));
        // The hold took 2 ms against 1.99 ms drawn: 10 µs late.
        let lateness = decode(&figures.hold_lateness_ns);
        assert!(lateness.equivalent(lateness.max(), 10_000));
    }

    #[test]
    fn recorder_counts_losses_as_arrivals() {
        let mut recorder = WindowRecorder::new("payment", 1, &[]);
        let t0 = Instant::now();
        recorder.start(1, t0);
        recorder.record_loss();
        recorder.record_arrival(Duration::ZERO);
        let figures = recorder.end(t0, std::iter::empty()).unwrap();
        assert_eq!(figures.arrivals, 2);
        assert_eq!(figures.losses, 1);
    }

    #[test]
    fn recorder_counts_call_statuses() {
        let mut recorder = WindowRecorder::new("order", 2, &["payment".to_owned()]);
        let t0 = Instant::now();
        recorder.start(1, t0);
        recorder.record_call(0, Duration::from_micros(500), Code::Ok);
        recorder.record_call(0, Duration::from_micros(900), Code::Unavailable);
        let figures = recorder.end(t0, std::iter::empty()).unwrap();

        let call = &figures.calls[0];
        assert_eq!(call.to, "payment");
        let ok = call
            .statuses
            .iter()
            .find(|s| s.code == Code::Ok as i32)
            .unwrap();
        assert_eq!(ok.count, 1);
        let unavailable = call.statuses.iter().find(|s| s.code == 14).unwrap();
        assert_eq!(unavailable.count, 1);
        assert_eq!(decode(&call.latency_ns).len(), 1);
    }

    #[test]
    fn end_without_open_window_is_none() {
        let mut recorder = WindowRecorder::new("user", 2, &[]);
        assert!(recorder.end(Instant::now(), std::iter::empty()).is_none());
    }
}
