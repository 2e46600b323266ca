//! Running a [`Sampler`] on its own thread, for services that report
//! per-window figures.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::AgentError;
use crate::report::AgentReport;
use crate::sampler::{ProcessTarget, Sampler};
use crate::thresholds::Thresholds;
use crate::window::Window;

/// Settings of a background sampler.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Time between samples. At least [`Sampler::MINIMUM_INTERVAL`], default 1 s.
    pub interval: Duration,
    /// The process to follow. Default [`ProcessTarget::Current`].
    pub target: ProcessTarget,
    /// Most samples kept per window. Default [`Window::DEFAULT_CAPACITY`].
    pub window_capacity: usize,
    /// Limits for the indicators.
    pub thresholds: Thresholds,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            target: ProcessTarget::Current,
            window_capacity: Window::DEFAULT_CAPACITY,
            thresholds: Thresholds::default(),
        }
    }
}

/// Starts sampling on a dedicated thread and returns its handle.
///
/// The thread sleeps between samples, so its cost is one sample per interval
/// (see [`Summary::sampler_cpu_s_per_sample`](crate::Summary::sampler_cpu_s_per_sample)).
/// It is an OS thread rather than an async task because it blocks on `/proc`
/// reads. The handle's methods only lock a mutex briefly, so an async service
/// may call them from a task.
///
/// # Errors
/// [`AgentError::IntervalTooShort`], [`AgentError::EmptyWindow`], the errors
/// of [`Sampler::new`], and [`AgentError::Spawn`] when the thread cannot start.
pub fn spawn_sampler(config: AgentConfig) -> Result<SamplerHandle, AgentError> {
    if config.interval < Sampler::MINIMUM_INTERVAL {
        return Err(AgentError::IntervalTooShort {
            interval: config.interval,
            minimum: Sampler::MINIMUM_INTERVAL,
        });
    }
    let window = Arc::new(Mutex::new(Window::new(config.window_capacity)?));
    let sampler = Sampler::new(config.target)?;
    let (stop_sender, stop_receiver) = mpsc::channel();

    let thread = std::thread::Builder::new()
        .name("queuelab-agent".into())
        .spawn({
            let window = Arc::clone(&window);
            move || run(sampler, config.interval, &window, &stop_receiver)
        })
        .map_err(AgentError::Spawn)?;

    Ok(SamplerHandle {
        window,
        thresholds: config.thresholds,
        stop: Some(stop_sender),
        thread: Some(thread),
    })
}

/// Handle of a background sampler. Dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct SamplerHandle {
    window: Arc<Mutex<Window>>,
    thresholds: Thresholds,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SamplerHandle {
    /// Discards the samples so far and starts a new window, for example after a warm-up.
    pub fn start_window(&self) {
        self.lock().clear();
    }

    /// Reports on the samples since the window started, then starts a new window.
    ///
    /// Returns `None` when no sample was taken since the window started.
    pub fn end_window(&self) -> Option<AgentReport> {
        let mut window = self.lock();
        let report =
            AgentReport::from_samples(&window.samples(), &self.thresholds, window.dropped());
        window.clear();
        report
    }

    /// Number of samples in the current window.
    pub fn sample_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // A panic while holding the lock cannot leave a half-pushed sample, so
        // the window stays usable.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once.
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("agent sampling thread panicked");
        }
    }
}

/// Takes one sample per interval on a fixed schedule until the stop channel closes.
fn run(
    mut sampler: Sampler,
    interval: Duration,
    window: &Mutex<Window>,
    stop: &mpsc::Receiver<()>,
) {
    tracing::debug!(
        interval_s = interval.as_secs_f64(),
        "agent sampling started"
    );
    let mut next = Instant::now() + interval;
    let mut failures: u64 = 0;

    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
        next += interval;

        match sampler.sample() {
            Ok(sample) => {
                window
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(sample);
            }
            Err(error) => {
                failures += 1;
                // Log the first failure and then one in 60, so a process that
                // exited does not flood the log once per interval.
                if failures % 60 == 1 {
                    tracing::warn!(%error, failures, "agent sample failed");
                }
            }
        }
    }

    tracing::debug!(failures, "agent sampling stopped");
}
