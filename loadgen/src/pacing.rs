//! Waiting for a send time with microsecond precision on an ordinary,
//! possibly busy, Linux machine.

use std::time::{Duration, Instant};

/// How long before the deadline the sleeping thread wakes to spin.
///
/// NOTE: chosen from measurements on a shared 2-core Linux 6.18 machine with
/// timer slack set to 1 ns: `nanosleep` then wakes within tens of µs.
/// Spinning the whole gap instead gave a far worse p99 (ms) when other
/// processes competed for the cores, because the scheduler preempts a thread
/// that never sleeps for whole time slices.
pub const SPIN_BEFORE: Duration = Duration::from_micros(60);

/// Maximum length of one sleep, so a thread waiting for a distant send still runs
/// its periodic work (such as progress reports) on time.
pub const MAX_SLEEP: Duration = Duration::from_millis(50);

/// Sets this thread's timer slack to 1 ns, so `std::thread::sleep` wakes
/// close to its deadline instead of up to the default 50 µs late. Does
/// nothing on other systems than Linux.
pub fn set_fine_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only
    // the calling thread's timer slack; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Blocks the thread until `deadline`: sleeps until [`SPIN_BEFORE`] before
/// it (in steps of at most [`MAX_SLEEP`]), then spins.
///
/// Returns early, with `false`, when a sleep step ends and `deadline` is
/// still more than [`SPIN_BEFORE`] away, so the caller can run periodic
/// work and call again. Returns `true` once `deadline` has passed.
pub fn wait_until(deadline: Instant) -> bool {
    let now = Instant::now();
    let Some(remaining) = deadline.checked_duration_since(now) else {
        return true;
    };

    if remaining > SPIN_BEFORE {
        std::thread::sleep((remaining - SPIN_BEFORE).min(MAX_SLEEP));
        if deadline.saturating_duration_since(Instant::now()) > SPIN_BEFORE {
            return false;
        }
    }

    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_past_deadline_returns_at_once() {
        assert!(wait_until(Instant::now() - Duration::from_millis(1)));
    }

    #[test]
    fn wait_until_reaches_deadline() {
        set_fine_timer_slack();
        for micros in [10, 100, 1000, 20_000] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            while !wait_until(deadline) {}
            assert!(
                Instant::now() >= deadline,
                "returned before a {micros} µs deadline"
            );
        }
    }

    #[test]
    fn wait_until_distant_deadline_yields_back() {
        let deadline = Instant::now() + MAX_SLEEP * 4;

        assert!(!wait_until(deadline));
    }
}
