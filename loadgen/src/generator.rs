//! The open-loop generator: sends each request at its scheduled time,
//! whether or not earlier requests have replied, and measures each latency
//! from the scheduled time.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::plan::{Phase, PhaseKind, Plan};
use crate::schedule::PoissonSchedule;
use crate::sender::SendRequest;
use crate::window::{DEFAULT_MAX_SEND_LATENESS_P99, WindowRecorder, WindowReport};

/// How long before a send the generator stops sleeping on the tokio timer
/// and starts yielding in a loop.
///
/// NOTE: tokio's timer has 1 ms granularity and was seen to wake up to about
/// 2 ms late on a busy 2-core machine, so the margin is 3 ms. The yield loop
/// keeps one core busy while a send is that close.
const SPIN_MARGIN: Duration = Duration::from_millis(3);

/// Delay between the start call and the first scheduled instant, so that
/// setting up does not make the first sends late.
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
    /// One report per measured phase.
    pub windows: Vec<WindowReport>,
}

/// The end of one request, as the generator records it.
struct Completion {
    phase_index: usize,
    scheduled: Instant,
    /// The reply's status code, or `None` when the per-request timeout
    /// passed first.
    code: Option<tonic::Code>,
    finished: Instant,
}

type InFlight = FuturesUnordered<Pin<Box<dyn Future<Output = Completion> + Send>>>;

/// Runs `plan` with `sender` on the current tokio runtime and returns the
/// figures of each measured window.
///
/// Calls `on_progress` every `options.progress_interval`. It runs on the
/// generator's task, so it must return quickly (send the snapshot on a
/// channel, for example).
///
/// For precise send times, run this on a runtime of its own, such as a
/// current-thread runtime on a dedicated thread, as [`crate::run_blocking`]
/// does: the generator yields in a loop just before each send, and any other
/// task on its thread delays its sends.
pub async fn run<S: SendRequest>(
    plan: &Plan,
    mut sender: S,
    options: &RunOptions,
    mut on_progress: impl FnMut(&Progress),
) -> RunOutcome {
    let mut recorders: Vec<WindowRecorder> = plan
        .phases()
        .iter()
        .map(|phase| WindowRecorder::new(phase.rate_per_s))
        .collect();
    let mut in_flight = InFlight::new();
    let run_start = Instant::now() + START_DELAY;
    let started_at = SystemTime::now() + START_DELAY;
    let mut next_progress = Instant::now() + options.progress_interval;
    let mut phase_start = run_start;

    for (phase_index, phase) in plan.phases().iter().enumerate() {
        let phase_end = phase_start + phase.duration;
        let seed = options.seed.wrapping_add(phase_index as u64);
        let schedule = PoissonSchedule::new(phase.rate_per_s, seed)
            .expect("a Plan contains only rates above 0");

        for offset in schedule {
            let scheduled = phase_start + offset;
            if scheduled >= phase_end {
                break;
            }

            // Wait for the scheduled time, handling replies meanwhile.
            loop {
                let now = Instant::now();
                if now >= next_progress {
                    let progress =
                        snapshot(phase_index, phase, phase_start, &recorders, &in_flight);
                    on_progress(&progress);
                    next_progress = now + options.progress_interval;
                }
                if now >= scheduled {
                    break;
                }
                wait_step(scheduled, &mut in_flight, &mut recorders).await;
            }

            // Send, or count the drop when the cap is reached.
            let recorder = &mut recorders[phase_index];
            if in_flight.len() >= options.max_in_flight {
                recorder.record_dropped_by_cap();
                continue;
            }
            recorder.record_send(Instant::now().saturating_duration_since(scheduled));
            in_flight.push(Box::pin(track(
                sender.send(options.timeout),
                options.timeout,
                phase_index,
                scheduled,
            )));

            // Poll the new request once so it starts now, then yield so the
            // client's connection task can write it, even when the next
            // request is already due.
            drain_ready(&mut in_flight, &mut recorders);
            tokio::task::yield_now().await;
        }

        phase_start = phase_end;
    }

    // Every request has a timeout, so this ends within `options.timeout`.
    while let Some(completion) = in_flight.next().await {
        record(completion, &mut recorders);
    }

    RunOutcome {
        started_at,
        windows: finish_windows(plan, recorders, options),
    }
}

/// Waits a little towards `scheduled`: sleeps on the tokio timer when the
/// time is far, otherwise yields once so the runtime can poll I/O. Records
/// the replies that arrive meanwhile.
async fn wait_step(scheduled: Instant, in_flight: &mut InFlight, recorders: &mut [WindowRecorder]) {
    let now = Instant::now();
    if scheduled.saturating_duration_since(now) > SPIN_MARGIN {
        let wake = tokio::time::Instant::from_std(scheduled - SPIN_MARGIN);
        tokio::select! {
            biased;
            Some(completion) = in_flight.next(), if !in_flight.is_empty() => {
                record(completion, recorders);
            }
            () = tokio::time::sleep_until(wake) => {}
        }
        return;
    }

    drain_ready(in_flight, recorders);
    tokio::task::yield_now().await;
}

/// Records the requests that have ended, without waiting for others.
fn drain_ready(in_flight: &mut InFlight, recorders: &mut [WindowRecorder]) {
    while let Some(Some(completion)) = in_flight.next().now_or_never() {
        record(completion, recorders);
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
    let sent = Instant::now();
    let code = match tokio::time::timeout(timeout, reply).await {
        // tonic's client enforces the deadline it sends and ends the call
        // with CANCELLED when it passes, racing the local timeout: a call
        // cancelled at its deadline is a timeout too.
        Ok(tonic::Code::Cancelled) if sent.elapsed() >= timeout => None,
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

fn snapshot(
    phase_index: usize,
    phase: &Phase,
    phase_start: Instant,
    recorders: &[WindowRecorder],
    in_flight: &InFlight,
) -> Progress {
    let recorder = &recorders[phase_index];
    let elapsed = Instant::now().saturating_duration_since(phase_start);
    let elapsed_s = elapsed.as_secs_f64();

    Progress {
        phase_index,
        kind: phase.kind,
        target_rate_per_s: phase.rate_per_s,
        elapsed,
        duration: phase.duration,
        sent: recorder.sent(),
        achieved_rate_per_s: if elapsed_s > 0.0 {
            recorder.sent() as f64 / elapsed_s
        } else {
            0.0
        },
        latency_p99: recorder.latency_at_quantile(0.99),
        send_lateness_p99: recorder.send_lateness_at_quantile(0.99),
        dropped_by_cap: recorder.dropped_by_cap(),
        in_flight: in_flight.len(),
    }
}

fn finish_windows(
    plan: &Plan,
    recorders: Vec<WindowRecorder>,
    options: &RunOptions,
) -> Vec<WindowReport> {
    let mut start_offset = Duration::ZERO;
    let mut windows = Vec::new();

    for (phase, recorder) in plan.phases().iter().zip(recorders) {
        if phase.kind == PhaseKind::Measured {
            windows.push(recorder.finish(
                start_offset,
                phase.duration,
                options.max_send_lateness_p99,
            ));
        }
        start_offset += phase.duration;
    }

    windows
}
