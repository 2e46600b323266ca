//! Running a station's thread ahead of other processes.
//!
//! A hold ends when the station's thread wakes from its timer. On a busy
//! machine a woken thread in the normal scheduling class may wait for
//! another thread's time slice, and the hold runs long by as much. A thread
//! in the real-time round-robin class (SCHED_RR) runs as soon as it wakes.

/// The scheduling the calling thread obtained from [`raise_thread_priority`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadPriority {
    /// SCHED_RR at priority 1: runs as soon as it wakes.
    RealTime,
    /// The normal class with nice -10: wakes ahead of most other threads.
    Niced,
    /// Unchanged: the process may not raise its priority.
    Normal,
}

/// Moves the calling thread to SCHED_RR at priority 1, or when that is not
/// permitted (it needs root or CAP_SYS_NICE), lowers its nice value to -10,
/// and returns what it obtained.
///
/// A real-time thread that never slept would starve the normal threads on
/// its core, up to the kernel's real-time throttling (95 % of each second by
/// default). A station's thread only queues, times and hands over requests:
/// it sleeps between them and spins at most 100 µs before each hold ends.
#[cfg(target_os = "linux")]
pub fn raise_thread_priority() -> ThreadPriority {
    let parameters = libc::sched_param { sched_priority: 1 };
    // SAFETY: pthread_self() is the calling thread and `parameters` is a
    // valid sched_param that outlives the call.
    let result =
        unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_RR, &parameters) };
    if result == 0 {
        return ThreadPriority::RealTime;
    }

    // SAFETY: gettid() has no preconditions; setpriority with PRIO_PROCESS
    // and a thread id changes only that thread's nice value.
    let niced = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10) };
    if niced == 0 {
        ThreadPriority::Niced
    } else {
        ThreadPriority::Normal
    }
}

/// Scheduling classes are a Linux matter here; elsewhere nothing changes.
#[cfg(not(target_os = "linux"))]
pub fn raise_thread_priority() -> ThreadPriority {
    ThreadPriority::Normal
}
