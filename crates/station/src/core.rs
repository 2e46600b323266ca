//! The station's queue and servers, and the task that runs each hold.
//!
//! Each visit's service runs as a task on the station's own single-threaded
//! runtime (see [`crate::Station::visit`]). Under the station's lock, the
//! task takes a free server or joins the FCFS queue. A queued request gets
//! its server from the task that releases it, at the instant of the release.
//! The hold itself is timed by [`hold_until`], outside the lock.
//!
//! Figures do not go through the lock: every event is sent as a [`Record`]
//! on a channel, which the window operations and every [`DRAIN_EVERY`]-th
//! release drain into the [`WindowRecorder`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;
use tokio::sync::oneshot;
use tonic::Code;

use crate::hold_timer::{HoldClock, hold_until};
use crate::sampler::ServiceSampler;
use crate::station::Shared;
use crate::window::WindowRecorder;

/// Releases between two drains of the record channel by the station's
/// thread, which bound the channel's length when no window operation
/// drains it.
pub(crate) const DRAIN_EVERY: u32 = 64;

/// The timings and call decisions of a finished service, sent to its request.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// Arrival to server acquired.
    pub waiting: Duration,
    /// Server acquired to server released, as realized.
    pub service: Duration,
    /// The service time drawn from the distribution; `service` differs from
    /// it by the timing error.
    pub drawn: Duration,
    /// Bit i is set when outgoing call i (topology order) is to be made.
    pub calls: u64,
}

/// One event for the window figures.
#[derive(Debug)]
pub(crate) enum Record {
    /// An arrival that joined the queue `dispatch_delay` after the handler
    /// stamped it.
    Arrival {
        dispatch_delay: Duration,
    },
    /// An arrival rejected because capacity K was reached.
    Lost,
    /// A request dropped before its service because its deadline passed or
    /// its caller went away.
    DeadlineDrop,
    Service {
        arrival: Instant,
        acquired: Instant,
        released: Instant,
        drawn: Duration,
    },
    Reply {
        handling: Duration,
        code: Code,
    },
    CallDone {
        call_index: usize,
        latency: Duration,
        code: Code,
    },
}

/// A server held by one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hold {
    server: usize,
    acquired: Instant,
    drawn: Duration,
    /// The timer wakes this long before the drawn end.
    margin: Duration,
    /// The hold ends this long before its drawn end.
    bias: Duration,
}

impl Hold {
    /// Returns the drawn end of the service.
    fn end(&self) -> Instant {
        self.acquired + self.drawn
    }
}

/// A server handed to a request, with the request's reply channel.
#[derive(Debug)]
pub(crate) struct Grant {
    hold: Hold,
    reply: oneshot::Sender<Served>,
}

/// A request waiting for a server.
#[derive(Debug)]
struct Waiter {
    /// The caller's deadline, when it sent one.
    deadline: Option<Instant>,
    reply: oneshot::Sender<Served>,
    grant: oneshot::Sender<Grant>,
}

/// The state of an arrival once it has joined the station.
#[derive(Debug)]
pub(crate) enum Joined {
    /// A server was free: the hold starts now.
    Serving(Grant),
    /// Every server is busy: the grant comes when one is released, or the
    /// sender is dropped when the request is dropped from the queue.
    Queued(oneshot::Receiver<Grant>),
    /// The deadline had passed or the caller had gone: the request is
    /// counted as dropped and leaves at once.
    Dropped,
}

/// The outcome of a release, to be acted on once the lock is let go.
#[derive(Debug)]
pub(crate) struct Released {
    /// Calls to make, bit i for outgoing call i.
    calls: u64,
    /// The freed server's next request, when one was waiting.
    handoff: Option<(oneshot::Sender<Grant>, Grant)>,
    /// True when this release should drain the record channel.
    drain: bool,
}

/// The queue, the servers and the random draws of one station: everything
/// that must change together, behind the station's lock.
pub(crate) struct Queue {
    sampler: ServiceSampler,
    /// Draws service times and call decisions, seeded from the spec.
    rng: StdRng,
    call_probabilities: Vec<f64>,
    /// When the service on each server started; `None` for a free server.
    servers: Vec<Option<Instant>>,
    /// Indices of the free servers.
    free: Vec<usize>,
    waiting: VecDeque<Waiter>,
    clock: HoldClock,
    records: Sender<Record>,
    releases: u32,
}

impl Queue {
    pub(crate) fn new(
        servers: usize,
        sampler: ServiceSampler,
        rng: StdRng,
        call_probabilities: Vec<f64>,
        clock: HoldClock,
        records: Sender<Record>,
    ) -> Self {
        Self {
            sampler,
            rng,
            call_probabilities,
            servers: vec![None; servers],
            free: (0..servers).rev().collect(),
            waiting: VecDeque::new(),
            clock,
            records,
            releases: 0,
        }
    }

    /// Adds a request that the handler stamped at `arrival` and returns
    /// whether it has a server now, waits for one, or was dropped.
    fn join(
        &mut self,
        arrival: Instant,
        deadline: Option<Instant>,
        reply: oneshot::Sender<Served>,
    ) -> Joined {
        let now = Instant::now();
        self.record(Record::Arrival {
            dispatch_delay: now.saturating_duration_since(arrival),
        });

        // A request can expire before the station takes it in, with a
        // grpc-timeout shorter than the reply headroom: it never starts.
        let expired = deadline.is_some_and(|deadline| deadline <= now);
        if expired || reply.is_closed() {
            self.record(Record::DeadlineDrop);
            return Joined::Dropped;
        }

        if self.waiting.is_empty()
            && let Some(server) = self.free.pop()
        {
            let hold = self.start_hold(server, now);
            return Joined::Serving(Grant { hold, reply });
        }
        let (grant, receiver) = oneshot::channel();
        self.waiting.push_back(Waiter {
            deadline,
            reply,
            grant,
        });
        Joined::Queued(receiver)
    }

    /// Ends `hold` at `released`, records the service, feeds the timing back
    /// and hands the server to the first queued request that still wants it.
    /// `leave` is called for each request that leaves the station.
    fn release(
        &mut self,
        hold: Hold,
        arrival: Instant,
        released: Instant,
        oversleep: Option<Duration>,
        leave: impl Fn(),
    ) -> Released {
        let end = hold.end();
        let error_ns = if released >= end {
            (released - end).as_nanos() as i64
        } else {
            -((end - released).as_nanos() as i64)
        };
        if let Some(oversleep) = oversleep {
            self.clock.record_oversleep(oversleep);
        }
        self.clock.record_error(error_ns);
        self.record(Record::Service {
            arrival,
            acquired: hold.acquired,
            released,
            drawn: hold.drawn,
        });
        self.servers[hold.server] = None;
        leave();

        let calls = self.draw_calls();
        let mut handoff = None;
        while let Some(waiter) = self.waiting.pop_front() {
            let expired = waiter.deadline.is_some_and(|deadline| deadline <= released);
            if expired || waiter.reply.is_closed() {
                self.record(Record::DeadlineDrop);
                leave();
                continue;
            }
            let next = self.start_hold(hold.server, released);
            handoff = Some((
                waiter.grant,
                Grant {
                    hold: next,
                    reply: waiter.reply,
                },
            ));
            break;
        }
        if handoff.is_none() {
            self.free.push(hold.server);
        }

        self.releases = self.releases.wrapping_add(1);
        Released {
            calls,
            handoff,
            drain: self.releases.is_multiple_of(DRAIN_EVERY),
        }
    }

    /// Returns when the services in progress started, for the busy time of
    /// a window that ends now.
    pub(crate) fn holds_started(&self) -> impl Iterator<Item = Instant> + '_ {
        self.servers.iter().flatten().copied()
    }

    /// Sends a record; the receiver lives as long as the station.
    fn record(&self, record: Record) {
        let _ = self.records.send(record);
    }

    fn start_hold(&mut self, server: usize, now: Instant) -> Hold {
        self.servers[server] = Some(now);
        Hold {
            server,
            acquired: now,
            drawn: self.sampler.sample(&mut self.rng),
            margin: self.clock.margin(),
            bias: self.clock.bias(),
        }
    }

    /// Decides independently, with its probability, whether each outgoing
    /// call is made.
    fn draw_calls(&mut self) -> u64 {
        let mut calls = 0_u64;
        for (index, &probability) in self.call_probabilities.iter().enumerate() {
            if self.rng.random_bool(probability) {
                calls |= 1 << index;
            }
        }
        calls
    }
}

/// Runs the part of a visit that belongs to the station's runtime: joins
/// the queue, waits for a server, holds it, releases it and replies. The
/// task outlives a caller that gives up, so that a server is always released
/// at the end of its hold.
pub(crate) async fn serve(
    station: Arc<Shared>,
    arrival: Instant,
    deadline: Option<Instant>,
    reply: oneshot::Sender<Served>,
) {
    let joined = station.queue().join(arrival, deadline, reply);
    let Grant { hold, reply } = match joined {
        Joined::Serving(grant) => grant,
        Joined::Dropped => {
            // The queue counted the drop; `present` is the station's.
            station.leave();
            return;
        }
        Joined::Queued(receiver) => match receiver.await {
            Ok(grant) => grant,
            // Dropped from the queue: the deadline passed or the caller left.
            Err(_) => return,
        },
    };

    let oversleep = hold_until(hold.end(), hold.margin, hold.bias).await;
    let released = Instant::now();

    let outcome = station
        .queue()
        .release(hold, arrival, released, oversleep, || station.leave());
    if let Some((sender, next)) = outcome.handoff {
        // The next request's task is gone only when the runtime is shutting
        // down; its server then stays busy.
        let _ = sender.send(next);
    }
    let _ = reply.send(Served {
        waiting: hold.acquired.saturating_duration_since(arrival),
        service: released - hold.acquired,
        drawn: hold.drawn,
        calls: outcome.calls,
    });
    if outcome.drain {
        station.try_drain();
    }
}

/// The window figures and the channel that feeds them.
pub(crate) struct Figures {
    pub(crate) records: Receiver<Record>,
    pub(crate) recorder: WindowRecorder,
}

impl Figures {
    /// Applies every record sent so far.
    pub(crate) fn drain(&mut self) {
        while let Ok(record) = self.records.try_recv() {
            let recorder = &mut self.recorder;
            match record {
                Record::Arrival { dispatch_delay } => recorder.record_arrival(dispatch_delay),
                Record::Lost => recorder.record_loss(),
                Record::DeadlineDrop => recorder.record_deadline_drop(),
                Record::Service {
                    arrival,
                    acquired,
                    released,
                    drawn,
                } => recorder.record_service(arrival, acquired, released, drawn),
                Record::Reply { handling, code } => recorder.record_reply(handling, code),
                Record::CallDone {
                    call_index,
                    latency,
                    code,
                } => recorder.record_call(call_index, latency, code),
            }
        }
    }
}
