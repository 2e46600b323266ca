//! The open-loop generator: sends each request at its scheduled time,
//! whether or not earlier requests have replied, and measures each latency
//! from the scheduled time.
//!
//! Two threads share the work. The dispatch thread sleeps until each
//! scheduled time (see [`crate::pacing`]), checks the in-flight cap, records
//! the send lateness and hands the request to the reply thread. The reply
//! thread runs a current-thread tokio runtime with the client's connection
//! and records each reply. Each thread has its own [`WindowRecorder`] per
//! phase; they are merged when the run ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use crate::pacing::{set_fine_timer_slack, wait_until};
use crate::plan::{PhaseKind, Plan};
use crate::schedule::PoissonSchedule;
use crate::sender::SendRequest;
use crate::window::{DEFAULT_MAX_SEND_LATENESS_P99, WindowRecorder, WindowReport};

/// Delay between the start of dispatch and the first scheduled instant, so
/// that setting up does not make the first sends late.
const START_DELAY: Duration = Duration::from_millis(5);

/// Settings of a run besides its phases.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of the arrival schedules; phase `i` uses `seed + i`.
    pub seed: u64,
    /// Requests in flight above which a due request is dropped and counted
    /// instead of sent.
    pub max_in_flight: usize,
    /// Per-request timeout: a request with no reply by then is counted as a
    /// timeout.
    pub timeout: Duration,
    /// Send-lateness p99 above which a window reports that the generator
    /// fell behind its schedule.
    pub max_send_lateness_p99: Duration,
    /// Interval between two [`Progress`] snapshots.
    pub progress_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            max_in_flight: 1000,
            timeout: Duration::from_secs(2),
            max_send_lateness_p99: DEFAULT_MAX_SEND_LATENESS_P99,
            progress_interval: Duration::from_secs(1),
        }
    }
}

/// A snapshot of the running phase, sent every progress interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Index of the phase in the plan.
    pub phase_index: usize,
    /// Whether the phase is a warm-up or a measured window.
    pub kind: PhaseKind,
    /// Target arrival rate of the phase, in requests per second.
    pub target_rate_per_s: f64,
    /// Time since the phase started.
    pub elapsed: Duration,
    /// Scheduled length of the phase.
    pub duration: Duration,
    /// Requests sent in the phase so far.
    pub sent: u64,
    /// Requests sent per second of the phase so far.
    pub achieved_rate_per_s: f64,
    /// p99 end-to-end latency of the phase's OK replies so far.
    pub latency_p99: Option<Duration>,
    /// p99 send lateness of the phase so far.
    pub send_lateness_p99: Option<Duration>,
    /// Requests of the phase dropped by the in-flight cap so far.
    pub dropped_by_cap: u64,
    /// Requests in flight now, from any phase.
    pub in_flight: usize,
}

/// The windows of a finished run, in plan order, without the warm-up.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Wall-clock time of the first scheduled instant of the run; window
    /// offsets count from it.
    pub started_at: SystemTime,
    /// Time from the first scheduled instant to the stop, when
    /// [`crate::runner::Stopper`] ended the run before its plan did.
    pub stopped_after: Option<Duration>,
    /// One report per measured phase that started. After a stop, the last
    /// window is shorter than planned.
    pub windows: Vec<WindowReport>,
}

/// One request handed from the dispatch thread to the reply thread.
pub(crate) type Dispatched = Pin<Box<dyn Future<Output = Completion> + Send>>;

/// The end of one request, as the reply thread records it.
pub(crate) struct Completion {
    phase_index: usize,
    scheduled: Instant,
    /// The reply's status code, or `None` when the per-request timeout
    /// passed first.
    code: Option<tonic::Code>,
    finished: Instant,
}

/// State both threads of a run share.
#[derive(Clone)]
pub(crate) struct Shared {
    /// Requests dispatched and not yet ended.
    pub in_flight: Arc<AtomicUsize>,
    /// Reply-side recorders, one per phase. The dispatch thread reads them
    /// only for progress snapshots.
    pub replies: Arc<Mutex<Vec<WindowRecorder>>>,
    /// Set to stop dispatching before the plan ends.
    pub stop: Arc<AtomicBool>,
}

impl Shared {
    pub(crate) fn new(plan: &Plan) -> Self {
        Self {
            in_flight: Arc::new(AtomicUsize::new(0)),
            replies: Arc::new(Mutex::new(new_recorders(plan))),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// The result of the dispatch thread: its send-side recorders, the wall
/// clock of the first scheduled instant, and when it was stopped early.
pub(crate) struct Dispatch {
    pub sends: Vec<WindowRecorder>,
    pub started_at: SystemTime,
    /// Time from the first scheduled instant to the stop, when the run was
    /// stopped before its plan ended.
    pub stopped_after: Option<Duration>,
}

/// Runs the schedule of `plan` on the calling thread, handing each due
/// request to `requests` unless the in-flight cap is reached, and calls
/// `on_progress` every progress interval.
pub(crate) fn dispatch<S: SendRequest>(
    plan: &Plan,
    mut sender: S,
    options: &RunOptions,
    shared: &Shared,
    requests: mpsc::UnboundedSender<Dispatched>,
    mut on_progress: impl FnMut(&Progress),
) -> Dispatch {
    set_fine_timer_slack();
    let mut sends = new_recorders(plan);
    let run_start = Instant::now() + START_DELAY;
    let started_at = SystemTime::now() + START_DELAY;
    let mut next_progress = Instant::now() + options.progress_interval;
    let mut phase_start = run_start;
    let mut stopped_after = None;

    'phases: for (phase_index, phase) in plan.phases().iter().enumerate() {
        let phase_end = phase_start + phase.duration;
        let seed = options.seed.wrapping_add(phase_index as u64);
        let schedule = PoissonSchedule::new(phase.rate_per_s, seed)
            .expect("a Plan contains only rates above 0");

        for offset in schedule {
            let scheduled = phase_start + offset;
            if scheduled >= phase_end {
                break;
            }

            // Wait for the scheduled time, reporting progress meanwhile.
            loop {
                if shared.stop.load(Ordering::Acquire) {
                    let after = Instant::now().saturating_duration_since(run_start);
                    tracing::info!(after_s = after.as_secs_f64(), "load run stopped early");
                    stopped_after = Some(after);
                    break 'phases;
                }
                if Instant::now() >= next_progress {
                    let snapshot = ProgressInputs {
                        phase_index,
                        phase_start,
                        sends: &sends[phase_index],
                    };
                    on_progress(&snapshot.progress(plan, shared));
                    next_progress = Instant::now() + options.progress_interval;
                }
                if wait_until(scheduled) {
                    break;
                }
            }

            // Send, or count the drop when the cap is reached.
            let recorder = &mut sends[phase_index];
            if shared.in_flight.load(Ordering::Acquire) >= options.max_in_flight {
                recorder.record_dropped_by_cap();
                continue;
            }
            recorder.record_send(Instant::now().saturating_duration_since(scheduled));
            shared.in_flight.fetch_add(1, Ordering::AcqRel);
            let request = track(
                sender.send(options.timeout),
                options.timeout,
                phase_index,
                scheduled,
            );
            if requests.send(Box::pin(request)).is_err() {
                // The reply thread is gone, so nothing more can be measured.
                tracing::error!("reply thread stopped; ending the run early");
                stopped_after = Some(Instant::now().saturating_duration_since(run_start));
                break 'phases;
            }
        }

        phase_start = phase_end;
    }

    Dispatch {
        sends,
        started_at,
        stopped_after,
    }
}

/// Polls the requests handed over on `requests` and records their replies,
/// until the channel is closed and every request has ended.
pub(crate) async fn collect_replies(
    mut requests: mpsc::UnboundedReceiver<Dispatched>,
    shared: Shared,
) {
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;

    loop {
        tokio::select! {
            biased;
            request = requests.recv(), if open => match request {
                Some(request) => in_flight.push(request),
                None => open = false,
            },
            Some(completion) = in_flight.next(), if !in_flight.is_empty() => {
                shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                let mut replies = shared.replies.lock().unwrap_or_else(PoisonError::into_inner);
                record(completion, &mut replies);
            }
            else => break,
        }
    }
}

/// Merges the two sides of each phase and returns the reports of the
/// measured ones.
pub(crate) fn finish(
    plan: &Plan,
    dispatch: Dispatch,
    shared: &Shared,
    options: &RunOptions,
) -> RunOutcome {
    let replies = shared
        .replies
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let mut start_offset = Duration::ZERO;
    let mut windows = Vec::new();

    for ((phase, mut recorder), reply_side) in
        plan.phases().iter().zip(dispatch.sends).zip(replies.iter())
    {
        // A stop cuts the phase it falls in short and drops the later ones.
        let duration = match dispatch.stopped_after {
            Some(stopped_after) if stopped_after <= start_offset => break,
            Some(stopped_after) => phase.duration.min(stopped_after - start_offset),
            None => phase.duration,
        };
        recorder.merge(reply_side);
        if phase.kind == PhaseKind::Measured {
            windows.push(recorder.finish(start_offset, duration, options.max_send_lateness_p99));
        }
        start_offset += phase.duration;
    }

    RunOutcome {
        started_at: dispatch.started_at,
        stopped_after: dispatch.stopped_after,
        windows,
    }
}

/// Wraps one request so it reports its phase, scheduled time, outcome and
/// finish time, and ends after `timeout` at the latest.
async fn track(
    reply: impl Future<Output = tonic::Code>,
    timeout: Duration,
    phase_index: usize,
    scheduled: Instant,
) -> Completion {
    let started = Instant::now();
    let code = match tokio::time::timeout(timeout, reply).await {
        // tonic's client enforces the deadline it sends and ends the call
        // with CANCELLED when it passes, racing the local timeout: a call
        // cancelled at its deadline is a timeout too.
        Ok(tonic::Code::Cancelled) if started.elapsed() >= timeout => None,
        Ok(code) => Some(code),
        Err(_elapsed) => None,
    };
    Completion {
        phase_index,
        scheduled,
        code,
        finished: Instant::now(),
    }
}

fn record(completion: Completion, recorders: &mut [WindowRecorder]) {
    let recorder = &mut recorders[completion.phase_index];
    match completion.code {
        Some(code) => {
            let latency = completion
                .finished
                .saturating_duration_since(completion.scheduled);
            recorder.record_reply(code, latency);
        }
        None => recorder.record_timeout(),
    }
}

fn new_recorders(plan: &Plan) -> Vec<WindowRecorder> {
    plan.phases()
        .iter()
        .map(|phase| WindowRecorder::new(phase.rate_per_s))
        .collect()
}

/// The dispatch thread's view of the running phase.
struct ProgressInputs<'a> {
    phase_index: usize,
    phase_start: Instant,
    sends: &'a WindowRecorder,
}

impl ProgressInputs<'_> {
    fn progress(&self, plan: &Plan, shared: &Shared) -> Progress {
        let phase = &plan.phases()[self.phase_index];
        let elapsed = Instant::now().saturating_duration_since(self.phase_start);
        let elapsed_s = elapsed.as_secs_f64();
        let latency_p99 = shared
            .replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)[self.phase_index]
            .latency_at_quantile(0.99);

        Progress {
            phase_index: self.phase_index,
            kind: phase.kind,
            target_rate_per_s: phase.rate_per_s,
            elapsed,
            duration: phase.duration,
            sent: self.sends.sent(),
            achieved_rate_per_s: if elapsed_s > 0.0 {
                self.sends.sent() as f64 / elapsed_s
            } else {
                0.0
            },
            latency_p99,
            send_lateness_p99: self.sends.send_lateness_at_quantile(0.99),
            dropped_by_cap: self.sends.dropped_by_cap(),
            in_flight: shared.in_flight.load(Ordering::Acquire),
        }
    }
}
