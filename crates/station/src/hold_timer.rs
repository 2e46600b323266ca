//! Timing the end of a hold to within microseconds.
//!
//! tokio's timer has a resolution of 1 ms, while the reference stations hold
//! a server for 200 µs to 1.25 ms on average. A hold therefore sleeps on a
//! Linux timerfd registered with the station runtime's reactor (nanosecond
//! resolution, no timer slack), wakes a margin before its end, and spins
//! through the rest.
//!
//! Two costs shape this on the 2-vCPU development VM. Every timer wake-up
//! costs about 25 µs of CPU and comes 20 to 130 µs late (p1 to p99 under the
//! reference load). Every microsecond of spin costs a microsecond of CPU.
//! [`HoldClock`] therefore sets the margin from the timer's 99th
//! percentile of lateness, not from its worst case: the margin is that
//! percentile minus an allowance, the station's target for the p99 of the
//! hold error, so about 1 % of the holds that sleep end more than that
//! allowance late. It also removes the bias that the late
//! wake-ups leave: a hold whose timer woke in time ends a small, learned
//! amount before its drawn end, so that the mean error stays near zero.

use std::time::{Duration, Instant};

/// Smallest and largest sleep margin before the end of a hold.
const MIN_MARGIN: Duration = Duration::from_micros(5);
const MAX_MARGIN: Duration = Duration::from_micros(100);

/// Largest early end a hold may be given to balance late wake-ups.
const MAX_BIAS: Duration = Duration::from_micros(30);

/// Largest error fed to the bias correction: a longer delay means that the
/// thread was not running at all, which no bias can correct.
const MAX_ERROR_SAMPLE: Duration = Duration::from_micros(200);

/// The share of timer wake-ups that may come later than the margin allows
/// for, by more than the allowance.
const LATE_SHARE: f64 = 0.01;

/// Step of the quantile estimate, in nanoseconds: it rises by
/// (1 - LATE_SHARE) steps after each wake-up above it and falls by
/// LATE_SHARE steps after each one below, which balances at the quantile.
const QUANTILE_STEP_NS: f64 = 2_000.0;

/// Gain of the bias correction per hold: the bias moves by this share of
/// each hold's error.
const BIAS_GAIN: f64 = 1.0 / 32.0;

/// Learns how late the timer wakes and how early holds must end so that
/// their mean error is zero. One per station, updated at each release.
#[derive(Debug)]
pub(crate) struct HoldClock {
    /// Estimate of the (1 - LATE_SHARE) quantile of the timer's oversleep,
    /// in nanoseconds.
    late_quantile_ns: f64,
    /// How late a hold may end when its timer wakes at that quantile: the
    /// margin is the quantile minus this.
    allowance: Duration,
    /// The early release given to every hold, in nanoseconds.
    bias_ns: f64,
}

impl HoldClock {
    /// Starts from a 100 µs quantile estimate and no bias, for holds of
    /// which about 1 % may end more than `allowance` late.
    pub(crate) fn new(allowance: Duration) -> Self {
        Self {
            late_quantile_ns: 100_000.0,
            allowance,
            bias_ns: 0.0,
        }
    }

    /// Returns how long before a hold's end the timer is set to wake.
    pub(crate) fn margin(&self) -> Duration {
        let margin_ns = self.late_quantile_ns - self.allowance.as_nanos() as f64;
        Duration::from_nanos(margin_ns.max(0.0) as u64).clamp(MIN_MARGIN, MAX_MARGIN)
    }

    /// Returns how long before its drawn end a hold is released.
    pub(crate) fn bias(&self) -> Duration {
        Duration::from_nanos(self.bias_ns as u64).min(MAX_BIAS)
    }

    /// Feeds back how late the timer woke.
    pub(crate) fn record_oversleep(&mut self, oversleep: Duration) {
        let step = if oversleep.as_nanos() as f64 > self.late_quantile_ns {
            (1.0 - LATE_SHARE) * QUANTILE_STEP_NS
        } else {
            -LATE_SHARE * QUANTILE_STEP_NS
        };
        let ceiling_ns = (MAX_MARGIN + self.allowance).as_nanos() as f64;
        self.late_quantile_ns = (self.late_quantile_ns + step).clamp(0.0, ceiling_ns);
    }

    /// Feeds back one released hold's error (realized minus drawn service
    /// time), in nanoseconds.
    pub(crate) fn record_error(&mut self, error_ns: i64) {
        let max_sample_ns = MAX_ERROR_SAMPLE.as_nanos() as i64;
        let error_ns = error_ns.clamp(-max_sample_ns, max_sample_ns) as f64;
        let max_bias_ns = MAX_BIAS.as_nanos() as f64;
        self.bias_ns = (self.bias_ns + BIAS_GAIN * error_ns).clamp(0.0, max_bias_ns);
    }
}

/// Holds until `end` minus `bias`: sleeps until `margin` before `end`, then
/// spins. Returns how late the timer woke, when it slept.
pub(crate) async fn hold_until(end: Instant, margin: Duration, bias: Duration) -> Option<Duration> {
    let release = end.checked_sub(bias).unwrap_or(end);
    // A bias larger than the margin would put the wake-up after the release.
    let wake = end.checked_sub(margin.max(bias)).unwrap_or(end);

    let oversleep = if wake > Instant::now() {
        let woke = sleep_until(wake).await;
        Some(woke.saturating_duration_since(wake))
    } else {
        None
    };

    // The spin blocks the station's thread for at most the margin, 100 µs.
    // At the default target it averaged about 40 µs on the development VM.
    while Instant::now() < release {
        std::hint::spin_loop();
    }
    oversleep
}

/// Sleeps until `wake` on a timerfd and returns the instant it woke. Falls
/// back to tokio's millisecond timer when the timerfd cannot be set up.
#[cfg(target_os = "linux")]
async fn sleep_until(wake: Instant) -> Instant {
    match timerfd::sleep_until(wake).await {
        Ok(woke) => woke,
        Err(error) => {
            warn_fallback(&error);
            tokio::time::sleep_until(wake.into()).await;
            Instant::now()
        }
    }
}

/// Elsewhere, tokio's timer wakes up to about 1 ms late and the hold runs
/// long by as much.
#[cfg(not(target_os = "linux"))]
async fn sleep_until(wake: Instant) -> Instant {
    tokio::time::sleep_until(wake.into()).await;
    Instant::now()
}

#[cfg(target_os = "linux")]
fn warn_fallback(error: &std::io::Error) {
    use std::sync::atomic::{AtomicBool, Ordering};

    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %error,
            "failed to set up a timerfd; holds fall back to the 1 ms runtime timer and run up to 1 ms long"
        );
    }
}

#[cfg(target_os = "linux")]
mod timerfd {
    use std::cell::RefCell;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Instant;

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// A one-shot CLOCK_MONOTONIC timer, closed on drop.
    #[derive(Debug)]
    struct TimerFd(OwnedFd);

    impl AsRawFd for TimerFd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }

    impl TimerFd {
        /// Creates a non-blocking, disarmed timer.
        fn new() -> io::Result<Self> {
            // SAFETY: timerfd_create takes a clock id and flags and returns
            // a new descriptor or -1.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a new descriptor that nothing else owns.
            Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        /// Sets the timer to expire once, at `wake`.
        fn arm(&self, wake: Instant) -> io::Result<()> {
            // A relative expiry: the standard library's Instant is read from
            // CLOCK_MONOTONIC too, but does not expose its timespec. An
            // all-zero value would disarm the timer, hence at least 1 ns.
            let after = wake.saturating_duration_since(Instant::now());
            let value = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: after.as_secs() as libc::time_t,
                    tv_nsec: after.subsec_nanos().max(1) as libc::c_long,
                },
            };
            // SAFETY: the descriptor is a timerfd, `value` is a valid
            // itimerspec and the old value is not asked for.
            let set =
                unsafe { libc::timerfd_settime(self.as_raw_fd(), 0, &value, std::ptr::null_mut()) };
            if set != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Reads the expiration count, or fails with WouldBlock before the
        /// timer has expired.
        fn read(&self) -> io::Result<u64> {
            let mut expirations = [0_u8; 8];
            // SAFETY: the buffer is 8 writable bytes, the size a timerfd read
            // needs.
            let read = unsafe {
                libc::read(
                    self.as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if read < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(u64::from_ne_bytes(expirations))
        }
    }

    thread_local! {
        /// Timers registered with this thread's runtime and free for reuse.
        /// A station's runtime has one thread, so its holds reuse a few
        /// timers instead of creating and registering one each.
        static IDLE: RefCell<Vec<AsyncFd<TimerFd>>> = const { RefCell::new(Vec::new()) };
    }

    /// Most idle timers kept per thread: a station rarely has more holds in
    /// progress at once.
    const MAX_IDLE: usize = 64;

    /// Sleeps until `wake` and returns the instant the task resumed.
    pub(super) async fn sleep_until(wake: Instant) -> io::Result<Instant> {
        let timer = match IDLE.with_borrow_mut(Vec::pop) {
            Some(timer) => timer,
            // SAFETY: the TimerFd owns its descriptor, which stays open and
            // unchanged until the AsyncFd, and with it the TimerFd, is
            // dropped.
            None => {
                unsafe { AsyncFd::register_with_interest(TimerFd::new()?, Interest::READABLE) }?
            }
        };
        timer.get_ref().arm(wake)?;
        loop {
            let mut ready = timer.readable().await?;
            match ready.try_io(|timer| timer.get_ref().read()) {
                Ok(result) => {
                    result?;
                    break;
                }
                // Not expired yet: the readiness was stale and is cleared.
                Err(_would_block) => continue,
            }
        }
        let woke = Instant::now();

        // The timer has expired and been read, so it is disarmed and its
        // descriptor not readable. tokio may still hold it as ready; the
        // next hold's first read then fails with WouldBlock, which clears
        // that, and it waits as usual.
        // NOTE: the pool assumes one runtime per thread, as on a station's
        // thread. On a thread that later runs another runtime, a pooled timer
        // fails, so the hold falls back to tokio's timer.
        IDLE.with_borrow_mut(|idle| {
            if idle.len() < MAX_IDLE {
                idle.push(timer);
            }
        });
        Ok(woke)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_the_late_quantile_less_the_allowance() {
        // Oversleeps spread evenly over 20..=120 µs, in a scrambled order:
        // 1 % of them exceed 119 µs, so the margin settles near
        // 119 - 35 = 84 µs.
        let mut clock = HoldClock::new(Duration::from_micros(35));
        for index in 0..30_000_u64 {
            let micros = 20 + (index * 37) % 101;
            clock.record_oversleep(Duration::from_micros(micros));
        }
        let margin_us = clock.margin().as_secs_f64() * 1e6;
        assert!((margin_us - 84.0).abs() < 4.0, "margin {margin_us} µs");
    }

    #[test]
    fn margin_stays_within_bounds() {
        let mut clock = HoldClock::new(Duration::from_micros(35));
        for _ in 0..1_000 {
            clock.record_oversleep(Duration::from_micros(400));
        }
        assert_eq!(clock.margin(), MAX_MARGIN);

        // Each on-time wake-up lowers the estimate by 0.02 µs: from its
        // 135 µs ceiling to 0 takes 6 750 of them.
        for _ in 0..10_000 {
            clock.record_oversleep(Duration::ZERO);
        }
        assert_eq!(clock.margin(), MIN_MARGIN);
    }

    #[test]
    fn bias_balances_late_holds() {
        let mut clock = HoldClock::new(Duration::from_micros(35));

        // Every hold 8 µs late: the bias grows until it is capped.
        for _ in 0..2_000 {
            clock.record_error(8_000);
        }
        assert_eq!(clock.bias(), MAX_BIAS);

        // Holds that end early pull it back down to zero, never below.
        for _ in 0..2_000 {
            clock.record_error(-8_000);
        }
        assert_eq!(clock.bias(), Duration::ZERO);
    }

    #[test]
    fn bias_converges_where_mean_error_is_zero() {
        // One hold in ten wakes 50 µs past its margin; the other nine end
        // early by the bias. The errors balance when the bias averages
        // 50 / 9 = 5.56 µs over those nine.
        let mut clock = HoldClock::new(Duration::from_micros(35));
        let mut error_sum_ns = 0_i64;
        let mut bias_sum_ns = 0_i64;
        for index in 0..20_000 {
            let bias_ns = clock.bias().as_nanos() as i64;
            let late = index % 10 == 0;
            let error_ns = if late { 50_000 } else { -bias_ns };
            clock.record_error(error_ns);
            if index >= 10_000 {
                error_sum_ns += error_ns;
                if !late {
                    bias_sum_ns += bias_ns;
                }
            }
        }
        let mean_error_us = error_sum_ns as f64 / 10_000.0 / 1e3;
        let mean_bias_us = bias_sum_ns as f64 / 9_000.0 / 1e3;
        assert!(mean_error_us.abs() < 0.2, "mean error {mean_error_us} µs");
        assert!((mean_bias_us - 5.56).abs() < 0.2, "bias {mean_bias_us} µs");
    }

    #[tokio::test]
    async fn hold_ends_at_its_end_less_the_bias() {
        let margin = Duration::from_micros(50);
        let bias = Duration::from_micros(3);
        for micros in [10_u64, 300, 2_000] {
            let start = Instant::now();
            hold_until(start + Duration::from_micros(micros), margin, bias).await;
            let held = start.elapsed();
            assert!(
                held + bias >= Duration::from_micros(micros),
                "{micros} µs hold ended after {held:?}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn timerfd_sleep_wakes_after_its_instant() {
        let wake = Instant::now() + Duration::from_millis(3);
        let woke = timerfd::sleep_until(wake).await.unwrap();
        assert!(woke >= wake);
        // Generous: a loaded 2-core machine may run the task late.
        assert!(
            woke - wake < Duration::from_millis(500),
            "{:?}",
            woke - wake
        );
    }
}
