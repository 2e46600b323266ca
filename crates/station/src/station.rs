//! The handle that request tasks and the stats API use to reach a station.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use queuelab_proto::v1::WindowFigures;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::oneshot;
use tonic::Code;

use crate::core::{Arrival, Command, Record, Served, StationCore, deliver_replies};
use crate::error::{ConfigError, VisitError};
use crate::sampler::{ServiceSampler, ServiceTimeDistribution};
use crate::window::WindowRecorder;

/// Maximum outgoing calls per station, because the chosen calls travel as a
/// 64-bit mask.
pub const MAX_CALLS: usize = 64;

/// Bound on requests present at a station without a capacity K, so that an
/// overloaded station rejects work instead of growing its queue without end.
///
/// NOTE: arrivals beyond it are counted as losses although the topology sets
/// no K, so a model without K will not predict them.
pub const UNBOUNDED_PRESENT_LIMIT: u32 = 100_000;

/// One outgoing call of a station.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    /// Name of the called station.
    pub to: String,
    /// Probability that one visit makes this call, in [0, 1].
    pub probability: f64,
}

/// Everything a station needs to run, independent of the topology file.
#[derive(Debug, Clone, PartialEq)]
pub struct StationSpec {
    /// Station name, such as "api-gateway".
    pub name: String,
    /// Servers c, >= 1.
    pub servers: u32,
    /// Distribution of one service time.
    pub distribution: ServiceTimeDistribution,
    /// Capacity K (requests waiting plus in service), when bounded.
    pub capacity: Option<u32>,
    /// Outgoing calls, in the order they are made.
    pub calls: Vec<CallSpec>,
    /// Seed of the generator that draws service times and calls.
    pub seed: u64,
}

impl StationSpec {
    /// Checks the servers, capacity and call probabilities.
    ///
    /// # Errors
    /// The [`ConfigError`] of the first rule the spec breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let station = self.name.clone();
        if self.servers == 0 {
            return Err(ConfigError::NoServers { station });
        }
        if let Some(capacity) = self.capacity
            && capacity < self.servers
        {
            return Err(ConfigError::CapacityBelowServers {
                station,
                capacity,
                servers: self.servers,
            });
        }
        if self.calls.len() > MAX_CALLS {
            return Err(ConfigError::TooManyCalls {
                station,
                count: self.calls.len(),
                max: MAX_CALLS,
            });
        }
        for call in &self.calls {
            if !(0.0..=1.0).contains(&call.probability) {
                return Err(ConfigError::InvalidCallProbability {
                    station,
                    to: call.to.clone(),
                    probability: call.probability,
                });
            }
        }
        ServiceSampler::new(&self.name, self.distribution).map(|_| ())
    }
}

struct Shared {
    spec: StationSpec,
    commands: Sender<Command>,
    records: Sender<Record>,
    /// The station thread, unparked after each command.
    thread: std::thread::Thread,
    present: Arc<AtomicU32>,
}

/// A running station: its queue, servers and figures live on a dedicated
/// thread, which stops when the last clone of this handle is dropped.
#[derive(Clone)]
pub struct Station {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Station {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Station")
            .field("name", &self.shared.spec.name)
            .field("present", &self.present())
            .finish()
    }
}

impl Station {
    /// Validates `spec` and starts the station's thread.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid spec or when the thread cannot start.
    pub fn start(spec: StationSpec) -> Result<Self, ConfigError> {
        spec.validate()?;
        let sampler = ServiceSampler::new(&spec.name, spec.distribution)?;

        let (commands, command_receiver) = mpsc::channel();
        let (records, record_receiver) = mpsc::channel();
        let (replies, reply_receiver) = mpsc::channel();
        let present = Arc::new(AtomicU32::new(0));
        let targets: Vec<String> = spec.calls.iter().map(|call| call.to.clone()).collect();
        let core = StationCore {
            commands: command_receiver,
            records: record_receiver,
            servers: spec.servers as usize,
            sampler,
            rng: StdRng::seed_from_u64(spec.seed),
            call_probabilities: spec.calls.iter().map(|call| call.probability).collect(),
            present: Arc::clone(&present),
            recorder: WindowRecorder::new(&spec.name, spec.servers, &targets),
            replies,
        };

        let thread_error = |source| ConfigError::Thread {
            station: spec.name.clone(),
            source,
        };
        std::thread::Builder::new()
            .name(format!("replies-{}", spec.name))
            .spawn(move || deliver_replies(reply_receiver))
            .map_err(thread_error)?;
        let station_thread = std::thread::Builder::new()
            .name(format!("station-{}", spec.name))
            .spawn(move || core.run())
            .map_err(thread_error)?;

        Ok(Self {
            shared: Arc::new(Shared {
                spec,
                commands,
                records,
                thread: station_thread.thread().clone(),
                present,
            }),
        })
    }

    /// Returns the station's spec.
    pub fn spec(&self) -> &StationSpec {
        &self.shared.spec
    }

    /// Returns the station name.
    pub fn name(&self) -> &str {
        &self.shared.spec.name
    }

    /// Returns the requests present now (waiting plus in service).
    pub fn present(&self) -> u32 {
        self.shared.present.load(Ordering::Acquire)
    }

    /// Queues a request that arrived at `arrival` and waits until it has
    /// been served: waiting for a server, then holding it for a drawn
    /// service time.
    ///
    /// # Errors
    /// [`VisitError::CapacityReached`] when K requests are present (the
    /// arrival is counted as lost), [`VisitError::DeadlineExceeded`] when
    /// `deadline` passes first, [`VisitError::Stopped`] when the station thread
    /// has ended.
    pub async fn visit(
        &self,
        arrival: Instant,
        deadline: Option<Instant>,
    ) -> Result<Served, VisitError> {
        self.admit()?;

        let (served, receiver) = oneshot::channel();
        let command = Command::Arrive(Arrival {
            at: arrival,
            deadline,
            served,
        });
        if self.send_command(command).is_err() {
            self.shared.present.fetch_sub(1, Ordering::AcqRel);
            return Err(self.stopped());
        }

        // The station thread drops an expired request only when it reaches
        // the head of the queue. This timeout replies to the caller as soon
        // as the deadline passes.
        let outcome = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), receiver).await,
            None => Ok(receiver.await),
        };
        match outcome {
            Ok(Ok(served)) => Ok(served),
            Ok(Err(_)) => Err(self.stopped()),
            Err(_) => Err(VisitError::DeadlineExceeded {
                station: self.name().to_owned(),
                waited_ms: arrival.elapsed().as_secs_f64() * 1e3,
            }),
        }
    }

    /// Counts the arrival in `present`, or rejects it when the capacity is
    /// reached.
    fn admit(&self) -> Result<(), VisitError> {
        let limit = self.shared.spec.capacity.unwrap_or(UNBOUNDED_PRESENT_LIMIT);
        let admitted =
            self.shared
                .present
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |present| {
                    (present < limit).then_some(present + 1)
                });
        if admitted.is_ok() {
            return Ok(());
        }

        let _ = self.shared.records.send(Record::Lost);
        Err(VisitError::CapacityReached {
            station: self.name().to_owned(),
            capacity: limit,
        })
    }

    /// Sends a command and wakes the station thread, which sleeps parked.
    fn send_command(&self, command: Command) -> Result<(), mpsc::SendError<Command>> {
        self.shared.commands.send(command)?;
        self.shared.thread.unpark();
        Ok(())
    }

    fn stopped(&self) -> VisitError {
        VisitError::Stopped {
            station: self.name().to_owned(),
        }
    }

    /// Records the reply to a visit: its status and, when OK, the handling
    /// time from arrival to reply.
    pub fn record_reply(&self, handling: Duration, code: Code) {
        let _ = self.shared.records.send(Record::Reply { handling, code });
    }

    /// Records one outgoing call (index in topology order): the latency the
    /// caller measured and the call's status.
    pub fn record_call(&self, call_index: usize, latency: Duration, code: Code) {
        let _ = self.shared.records.send(Record::CallDone {
            call_index,
            latency,
            code,
        });
    }

    /// Resets every figure and opens window `id`. Returns `false` when the
    /// station thread has stopped.
    pub async fn start_window(&self, id: u64) -> bool {
        let (done, receiver) = oneshot::channel();
        if self
            .send_command(Command::StartWindow { id, done })
            .is_err()
        {
            return false;
        }
        receiver.await.is_ok()
    }

    /// Closes the open window and returns its figures, or `None` when no
    /// window is open.
    pub async fn end_window(&self) -> Option<WindowFigures> {
        let (figures, receiver) = oneshot::channel();
        self.send_command(Command::EndWindow { figures }).ok()?;
        receiver.await.ok().flatten()
    }

    /// Returns the figures of the open window so far or of the last closed
    /// one, or `None` when no window was ever started.
    pub async fn current_window(&self) -> Option<WindowFigures> {
        let (figures, receiver) = oneshot::channel();
        self.send_command(Command::GetWindow { figures }).ok()?;
        receiver.await.ok().flatten()
    }
}
