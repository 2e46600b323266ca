//! The station thread: one FCFS queue, c servers and the window figures.
//!
//! Each station runs one OS thread that owns its queue, its servers, its
//! random-number generator and its [`WindowRecorder`]. Request tasks talk to
//! it over channels. Because one thread starts and ends every service, a
//! server passes to the next waiting request at the instant it is released,
//! and service times are timed by [`PreciseWait`] rather than by the async
//! runtime's millisecond timer. A second thread per station hands finished
//! services back to the request tasks (see [`deliver_replies`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use queuelab_proto::v1::WindowFigures;
use rand::RngExt;
use rand::rngs::StdRng;
use tokio::sync::oneshot;
use tonic::Code;

use crate::precise_wait::{PreciseWait, Woken, raise_priority};
use crate::sampler::ServiceSampler;
use crate::window::WindowRecorder;

/// The timings and call decisions of a finished service, sent to its request.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// Arrival to server acquired.
    pub waiting: Duration,
    /// Server acquired to server released, as realized.
    pub service: Duration,
    /// The service time drawn from the distribution; `service` exceeds it by
    /// the timing error.
    pub drawn: Duration,
    /// Bit i is set when outgoing call i (topology order) is to be made.
    pub calls: u64,
}

/// A request that joined the queue.
#[derive(Debug)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    /// The caller's deadline, when it sent one.
    pub(crate) deadline: Option<Instant>,
    pub(crate) served: oneshot::Sender<Served>,
}

/// Messages that the station thread must act on at once: they wake it.
#[derive(Debug)]
pub(crate) enum Command {
    Arrive(Arrival),
    StartWindow {
        id: u64,
        done: oneshot::Sender<()>,
    },
    EndWindow {
        figures: oneshot::Sender<Option<WindowFigures>>,
    },
    GetWindow {
        figures: oneshot::Sender<Option<WindowFigures>>,
    },
}

/// Figures sent by request tasks. They do not wake the station thread,
/// which drains them whenever it wakes for a command or a release, and
/// before it reads a window.
#[derive(Debug)]
pub(crate) enum Record {
    /// An arrival rejected because capacity K was reached.
    Lost,
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

/// A finished service on its way to the request task that waits for it.
pub(crate) type Reply = (oneshot::Sender<Served>, Served);

/// Hands finished services to their request tasks until the station thread
/// ends. Waking an async task can block on the runtime's internal locks, so
/// the station thread leaves that to this thread and keeps its own timing
/// free of them.
pub(crate) fn deliver_replies(replies: Receiver<Reply>) {
    raise_priority();
    for (request, served) in replies {
        // The request task may be gone (its caller cancelled); its reply is
        // then simply not sent.
        let _ = request.send(served);
    }
}

/// A request holding a server.
#[derive(Debug)]
struct Hold {
    arrival: Arrival,
    acquired: Instant,
    drawn: Duration,
    release_at: Instant,
}

/// Everything the station thread owns.
pub(crate) struct StationCore {
    pub(crate) commands: Receiver<Command>,
    pub(crate) records: Receiver<Record>,
    pub(crate) servers: usize,
    pub(crate) sampler: ServiceSampler,
    /// Draws service times and call decisions, seeded from the spec.
    pub(crate) rng: StdRng,
    pub(crate) call_probabilities: Vec<f64>,
    /// Requests waiting plus in service; request tasks increment it on
    /// arrival, this thread decrements it when a request leaves.
    pub(crate) present: Arc<AtomicU32>,
    pub(crate) recorder: WindowRecorder,
    /// Finished services, for [`deliver_replies`].
    pub(crate) replies: Sender<Reply>,
}

impl StationCore {
    /// Runs the station until every command sender is dropped.
    pub(crate) fn run(mut self) {
        let mut clock = PreciseWait::for_current_thread();
        let mut queue: VecDeque<Arrival> = VecDeque::new();
        let mut holds: Vec<Hold> = Vec::with_capacity(self.servers);

        loop {
            self.drain_records();
            self.release_due(&mut holds, Instant::now());
            self.start_services(&mut queue, &mut holds, Instant::now());

            let next_release = holds.iter().map(|hold| hold.release_at).min();
            match clock.wait(&self.commands, next_release) {
                Woken::Message(command) => self.handle(command, &mut queue, &holds),
                Woken::Deadline => {}
                Woken::Disconnected => break,
            }
        }
        tracing::debug!(
            queued = queue.len(),
            in_service = holds.len(),
            "station thread stopped"
        );
    }

    /// Applies every record sent since the last drain.
    fn drain_records(&mut self) {
        while let Ok(record) = self.records.try_recv() {
            match record {
                Record::Lost => self.recorder.record_loss(),
                Record::Reply { handling, code } => self.recorder.record_reply(handling, code),
                Record::CallDone {
                    call_index,
                    latency,
                    code,
                } => self.recorder.record_call(call_index, latency, code),
            }
        }
    }

    fn handle(&mut self, command: Command, queue: &mut VecDeque<Arrival>, holds: &[Hold]) {
        match command {
            Command::Arrive(arrival) => {
                self.recorder
                    .record_arrival(Instant::now().saturating_duration_since(arrival.at));
                queue.push_back(arrival);
            }
            Command::StartWindow { id, done } => {
                // Records sent before the window opened belong to no window.
                self.drain_records();
                self.recorder.start(id, Instant::now());
                let _ = done.send(());
            }
            Command::EndWindow { figures } => {
                self.drain_records();
                let started = holds.iter().map(|hold| hold.acquired);
                let _ = figures.send(self.recorder.end(Instant::now(), started));
            }
            Command::GetWindow { figures } => {
                self.drain_records();
                let started = holds.iter().map(|hold| hold.acquired);
                let _ = figures.send(self.recorder.current(Instant::now(), started));
            }
        }
    }

    /// Releases every server whose service time has passed and replies to
    /// its request.
    fn release_due(&mut self, holds: &mut Vec<Hold>, now: Instant) {
        let mut index = 0;
        while index < holds.len() {
            if holds[index].release_at > now {
                index += 1;
                continue;
            }
            let hold = holds.swap_remove(index);
            let released = Instant::now();
            self.present.fetch_sub(1, Ordering::AcqRel);
            self.recorder
                .record_service(hold.arrival.at, hold.acquired, released, hold.drawn);

            let served = Served {
                waiting: hold.acquired - hold.arrival.at,
                service: released - hold.acquired,
                drawn: hold.drawn,
                calls: self.draw_calls(),
            };
            let _ = self.replies.send((hold.arrival.served, served));
        }
    }

    /// Gives free servers to the requests at the head of the queue, dropping
    /// those whose deadline passed or whose caller went away.
    fn start_services(
        &mut self,
        queue: &mut VecDeque<Arrival>,
        holds: &mut Vec<Hold>,
        now: Instant,
    ) {
        while holds.len() < self.servers {
            let Some(arrival) = queue.pop_front() else {
                return;
            };
            let expired = arrival.deadline.is_some_and(|deadline| deadline <= now);
            if expired || arrival.served.is_closed() {
                self.present.fetch_sub(1, Ordering::AcqRel);
                self.recorder.record_deadline_drop();
                continue;
            }

            let drawn = self.sampler.sample(&mut self.rng);
            holds.push(Hold {
                arrival,
                acquired: now,
                drawn,
                release_at: now + drawn,
            });
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
