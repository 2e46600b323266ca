//! Waiting on a command channel until a deadline, with microsecond accuracy.
//!
//! A plain sleep wakes up late. On the 2-core Linux VM used for development,
//! `thread::sleep` overshot by about 65-80 µs with the default 50 µs timer
//! slack, and still by about 20 µs with the slack lowered to 1 ns (measured
//! with a loop of 300 sleeps). So the waiter lowers its thread's timer
//! slack, sleeps until a margin before the deadline, and spins through the
//! rest. The margin follows a moving average of the observed oversleep, so
//! the spin stays short on a quiet machine and grows on a loaded one.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// Smallest and largest sleep margin before a deadline.
const MIN_MARGIN: Duration = Duration::from_micros(5);
const MAX_MARGIN: Duration = Duration::from_micros(100);

/// Largest oversleep sample fed to the moving average: a longer one means
/// the thread was preempted, which a larger margin would not prevent.
const MAX_OVERSLEEP_SAMPLE: Duration = Duration::from_micros(200);

/// Maximum idle sleep between two checks for a closed channel.
const IDLE_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Weight of the newest oversleep in the moving average.
const OVERSLEEP_WEIGHT: f64 = 1.0 / 16.0;

/// The event that ended a wait.
#[derive(Debug)]
pub(crate) enum Woken<T> {
    /// A message arrived before the deadline.
    Message(T),
    /// The deadline passed.
    Deadline,
    /// Every sender is gone.
    Disconnected,
}

/// Sleeps and spins until a deadline while watching a channel.
#[derive(Debug)]
pub(crate) struct PreciseWait {
    /// Moving average of how late a sleep wakes up, in nanoseconds.
    oversleep_ns: f64,
    /// Moving average of the absolute deviation of the oversleep from its
    /// average, in nanoseconds.
    oversleep_deviation_ns: f64,
}

impl PreciseWait {
    /// Lowers the calling thread's timer slack and starts with a 30 µs
    /// oversleep estimate. Call it on the thread that waits.
    pub(crate) fn for_current_thread() -> Self {
        lower_timer_slack();
        raise_priority();
        Self {
            oversleep_ns: 30_000.0,
            oversleep_deviation_ns: 0.0,
        }
    }

    /// Returns the current sleep margin: sleeps end this long before the
    /// deadline and the rest is spun. The margin is the average oversleep
    /// plus twice its average deviation plus 3 µs. In the hold-accuracy
    /// bench, dropping the deviation term cut the station threads' CPU by a
    /// third but raised the p99 hold error from about 40 to 70 µs.
    pub(crate) fn margin(&self) -> Duration {
        let margin_ns = self.oversleep_ns + 2.0 * self.oversleep_deviation_ns + 3_000.0;
        let margin = Duration::from_nanos(margin_ns as u64);
        margin.clamp(MIN_MARGIN, MAX_MARGIN)
    }

    /// Waits for the next message, or until `deadline` when there is one.
    ///
    /// The thread sleeps with `thread::park_timeout` and only polls the
    /// channel, so it never blocks on the channel's internal lock. A sender
    /// preempted while it holds that lock could otherwise delay this thread
    /// by a whole time slice. Senders must call
    /// `unpark` on this thread after each message that needs it awake.
    pub(crate) fn wait<T>(
        &mut self,
        receiver: &Receiver<T>,
        deadline: Option<Instant>,
    ) -> Woken<T> {
        // Sleep phase: park until a message or a margin before the deadline.
        loop {
            match receiver.try_recv() {
                Ok(message) => return Woken::Message(message),
                Err(TryRecvError::Disconnected) => return Woken::Disconnected,
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            let Some(deadline) = deadline else {
                // No hold in progress: sleep until a sender unparks the
                // thread, checking now and then whether every sender is gone.
                std::thread::park_timeout(IDLE_CHECK_INTERVAL);
                continue;
            };
            let wake_target = deadline.checked_sub(self.margin()).unwrap_or(deadline);
            if wake_target <= now {
                break;
            }
            std::thread::park_timeout(wake_target - now);
            let woke = Instant::now();
            if woke >= wake_target {
                self.record_oversleep(woke - wake_target);
            }
        }

        // Spin phase: poll the channel until the deadline.
        let deadline = deadline.expect("the sleep phase ends only with a deadline");
        loop {
            match receiver.try_recv() {
                Ok(message) => return Woken::Message(message),
                Err(TryRecvError::Disconnected) => return Woken::Disconnected,
                Err(TryRecvError::Empty) => {}
            }
            if Instant::now() >= deadline {
                return Woken::Deadline;
            }
            std::hint::spin_loop();
        }
    }

    fn record_oversleep(&mut self, oversleep: Duration) {
        let sample_ns = oversleep.min(MAX_OVERSLEEP_SAMPLE).as_nanos() as f64;
        let deviation_ns = (sample_ns - self.oversleep_ns).abs();
        self.oversleep_ns += OVERSLEEP_WEIGHT * (sample_ns - self.oversleep_ns);
        self.oversleep_deviation_ns +=
            OVERSLEEP_WEIGHT * (deviation_ns - self.oversleep_deviation_ns);
    }
}

/// Sets the calling thread's timer slack to 1 ns, so that its timed waits
/// are not rounded up by the kernel's default 50 µs slack.
#[cfg(target_os = "linux")]
fn lower_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only
    // the calling thread's timer slack; the unused arguments must be 0.
    let result = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "failed to lower the timer slack; service times may run about 50 µs long"
        );
    }
}

/// Moves the calling thread to the real-time round-robin class (SCHED_RR,
/// priority 1), so that it runs as soon as its sleep ends instead of waiting
/// for a busy core's time slice. When that is not permitted, it lowers the
/// thread's nice value to -10 instead. The thread sleeps between deadlines
/// and spins at most [`MAX_MARGIN`] before each one, so it cannot starve
/// other threads.
#[cfg(target_os = "linux")]
pub(crate) fn raise_priority() {
    let parameters = libc::sched_param { sched_priority: 1 };
    // SAFETY: pthread_self() is the calling thread and `parameters` is a
    // valid sched_param that outlives the call.
    let result =
        unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_RR, &parameters) };
    if result == 0 {
        return;
    }

    // SAFETY: gettid() has no preconditions; setpriority with PRIO_PROCESS
    // and a thread id changes only that thread's nice value.
    let niced = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10) };
    if niced != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "failed to raise the station thread's priority; service times may run long on a busy machine"
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn raise_priority() {}

/// Timer slack is a Linux setting; elsewhere the spin margin absorbs the
/// oversleep.
#[cfg(not(target_os = "linux"))]
fn lower_timer_slack() {}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn wait_returns_message_before_deadline() {
        let (sender, receiver) = mpsc::channel();
        sender.send(7_u32).unwrap();
        let mut waiter = PreciseWait::for_current_thread();
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(matches!(
            waiter.wait(&receiver, Some(deadline)),
            Woken::Message(7)
        ));
    }

    #[test]
    fn wait_reaches_deadline_not_before() {
        let (_sender, receiver) = mpsc::channel::<u32>();
        let mut waiter = PreciseWait::for_current_thread();
        let deadline = Instant::now() + Duration::from_millis(2);
        assert!(matches!(
            waiter.wait(&receiver, Some(deadline)),
            Woken::Deadline
        ));
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn wait_reports_disconnect() {
        let (sender, receiver) = mpsc::channel::<u32>();
        drop(sender);
        let mut waiter = PreciseWait::for_current_thread();
        assert!(matches!(waiter.wait(&receiver, None), Woken::Disconnected));
    }

    #[test]
    fn margin_stays_within_bounds() {
        let mut waiter = PreciseWait::for_current_thread();
        for _ in 0..200 {
            waiter.record_oversleep(Duration::from_micros(190));
        }
        assert_eq!(waiter.margin(), MAX_MARGIN);
        for _ in 0..400 {
            waiter.record_oversleep(Duration::ZERO);
        }
        assert_eq!(waiter.margin(), MIN_MARGIN);
    }
}
