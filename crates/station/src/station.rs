//! The handle that request tasks and the stats API use to reach a station.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use queuelab_proto::v1::WindowFigures;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tonic::Code;

use crate::core::{Figures, Queue, Record, Served, serve};
use crate::error::{ConfigError, VisitError};
use crate::hold_timer::HoldClock;
use crate::priority::{ThreadPriority, raise_thread_priority};
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
    /// Target for the 99th percentile of the hold error (realized minus
    /// drawn service time): the station's timer wakes early enough that
    /// about 1 % of its holds end later than this. A smaller target spins
    /// longer before each hold ends and costs more CPU.
    pub hold_error_p99: Duration,
}

/// The default [`StationSpec::hold_error_p99`]: on the 2-vCPU development
/// VM it kept the p99 under 50 µs for about 24 % of one core across the six
/// reference stations.
pub const DEFAULT_HOLD_ERROR_P99: Duration = Duration::from_micros(35);

/// The largest [`StationSpec::hold_error_p99`]: beyond it the timer's own
/// lateness decides the error and a larger target saves nothing.
pub const MAX_HOLD_ERROR_P99: Duration = Duration::from_millis(1);

impl StationSpec {
    /// Checks the servers, capacity, call probabilities, hold-error target
    /// and service-time distribution.
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
        if self.hold_error_p99 > MAX_HOLD_ERROR_P99 {
            return Err(ConfigError::HoldTargetTooLarge {
                station,
                target_us: self.hold_error_p99.as_secs_f64() * 1e6,
                max_us: MAX_HOLD_ERROR_P99.as_secs_f64() * 1e6,
            });
        }
        ServiceSampler::new(&self.name, self.distribution).map(|_| ())
    }
}

/// The state one station's handles and its runtime's tasks share.
pub(crate) struct Shared {
    spec: StationSpec,
    queue: Mutex<Queue>,
    figures: Mutex<Figures>,
    /// Sends records that do not come from the queue: losses, replies and
    /// calls.
    records: mpsc::Sender<Record>,
    /// Requests waiting plus in service.
    present: AtomicU32,
}

impl Shared {
    /// Locks the queue. No step under the lock is expected to panic; if one
    /// did, the queue is taken over as it is rather than stopping the station.
    pub(crate) fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn figures(&self) -> MutexGuard<'_, Figures> {
        self.figures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request that left the station.
    pub(crate) fn leave(&self) {
        self.present.fetch_sub(1, Ordering::AcqRel);
    }

    /// Drains the record channel unless a window operation is doing so.
    pub(crate) fn try_drain(&self) {
        if let Ok(mut figures) = self.figures.try_lock() {
            figures.drain();
        }
    }
}

/// The station's own runtime, which runs every hold. Its thread ends when
/// the last [`Station`] handle is dropped.
struct StationRuntime {
    handle: Handle,
    /// Dropping it ends the runtime's thread.
    _stop: oneshot::Sender<()>,
}

/// A running station: its queue, servers and window figures, and the thread
/// that times its holds. Clones share the station.
#[derive(Clone)]
pub struct Station {
    shared: Arc<Shared>,
    runtime: Arc<StationRuntime>,
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
    /// Validates `spec` and starts the station with all servers free.
    ///
    /// Every hold runs on the station's own single-threaded runtime. Its
    /// thread is named `station-NAME` and runs in the real-time class when
    /// the process may use it (see [`raise_thread_priority`]). So neither the
    /// request handlers' runtime, busy with gRPC, nor other processes delay
    /// the end of a hold.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid spec or when the thread cannot start.
    pub fn start(spec: StationSpec) -> Result<Self, ConfigError> {
        spec.validate()?;
        let sampler = ServiceSampler::new(&spec.name, spec.distribution)?;

        let (records, receiver) = mpsc::channel();
        let targets: Vec<String> = spec.calls.iter().map(|call| call.to.clone()).collect();
        let queue = Queue::new(
            spec.servers as usize,
            sampler,
            StdRng::seed_from_u64(spec.seed),
            spec.calls.iter().map(|call| call.probability).collect(),
            HoldClock::new(spec.hold_error_p99),
            records.clone(),
        );
        let figures = Figures {
            records: receiver,
            recorder: WindowRecorder::new(&spec.name, spec.servers, &targets),
        };
        let runtime = start_runtime(&spec.name)?;

        Ok(Self {
            shared: Arc::new(Shared {
                spec,
                queue: Mutex::new(queue),
                figures: Mutex::new(figures),
                records,
                present: AtomicU32::new(0),
            }),
            runtime: Arc::new(runtime),
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
    /// service time. The service runs as a task on the station's runtime,
    /// which completes it even when this future is dropped. Must be awaited
    /// within a tokio runtime with its timer enabled.
    ///
    /// # Errors
    /// [`VisitError::CapacityReached`] when K requests are present (the
    /// arrival is counted as lost), [`VisitError::DeadlineExceeded`] when
    /// `deadline` passes first, [`VisitError::Stopped`] when the station's
    /// runtime has stopped.
    pub async fn visit(
        &self,
        arrival: Instant,
        deadline: Option<Instant>,
    ) -> Result<Served, VisitError> {
        self.admit()?;

        let (served, receiver) = oneshot::channel();
        let service = serve(Arc::clone(&self.shared), arrival, deadline, served);
        // When the station's runtime has stopped, the task is dropped and
        // with it `served`, which ends the wait below.
        drop(self.runtime.handle.spawn(service));

        // A queued request whose deadline passes is dropped only when it
        // reaches the head of the queue. This timeout replies to the caller
        // as soon as the deadline passes.
        // NOTE: until it is dropped, the expired request still counts as
        // present, so under a capacity K it can cause a loss that an
        // M/M/c/K model does not predict.
        let outcome = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), receiver).await,
            None => Ok(receiver.await),
        };
        // The queue drops an expired request at the head of the queue,
        // which may come before the runtime's timer fires.
        let expired = || deadline.is_some_and(|deadline| Instant::now() >= deadline);
        match outcome {
            Ok(Ok(served)) => Ok(served),
            Ok(Err(_)) if !expired() => Err(VisitError::Stopped {
                station: self.name().to_owned(),
            }),
            Ok(Err(_)) | Err(_) => Err(VisitError::DeadlineExceeded {
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

    /// Resets every figure and opens window `id`. Events recorded before
    /// this call belong to no window.
    pub fn start_window(&self, id: u64) {
        let _queue = self.shared.queue();
        let mut figures = self.shared.figures();
        figures.drain();
        figures.recorder.start(id, Instant::now());
    }

    /// Closes the open window and returns its figures, or `None` when no
    /// window is open.
    pub fn end_window(&self) -> Option<WindowFigures> {
        let (now, started, mut figures) = self.window_cut();
        figures.recorder.end(now, started.into_iter())
    }

    /// Returns the figures of the open window so far or of the last closed
    /// one, or `None` when no window was ever started.
    pub fn current_window(&self) -> Option<WindowFigures> {
        let (now, started, figures) = self.window_cut();
        figures.recorder.current(now, started.into_iter())
    }

    /// Drains the records and notes when the services in progress started,
    /// at one instant under the queue's lock, so that no service ends in
    /// between. The lock is let go before the figures are serialized, which
    /// would otherwise hold up the station's thread.
    fn window_cut(&self) -> (Instant, Vec<Instant>, MutexGuard<'_, Figures>) {
        let queue = self.shared.queue();
        let mut figures = self.shared.figures();
        figures.drain();
        let now = Instant::now();
        let started = queue.holds_started().collect();
        (now, started, figures)
    }
}

/// Starts the single-threaded runtime of station `name` on a thread of its
/// own.
fn start_runtime(name: &str) -> Result<StationRuntime, ConfigError> {
    let thread_error = |source| ConfigError::Thread {
        station: name.to_owned(),
        source,
    };
    // The runtime is built on its own thread, so that it is also dropped
    // there: dropping a runtime inside another one's task would panic.
    let (handle_sender, handle_receiver) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let station = name.to_owned();
    std::thread::Builder::new()
        .name(format!("station-{name}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = handle_sender.send(Err(error));
                    return;
                }
            };
            let _ = handle_sender.send(Ok(runtime.handle().clone()));

            let priority = raise_thread_priority();
            if priority != ThreadPriority::RealTime {
                tracing::warn!(
                    station,
                    ?priority,
                    "the station thread could not enter the real-time class (it needs root or CAP_SYS_NICE); holds may run long on a busy machine"
                );
            }
            // Ends when the last handle drops the stop sender.
            let _ = runtime.block_on(stopped);
        })
        .map_err(thread_error)?;
    let handle = handle_receiver
        .recv()
        .map_err(|_| std::io::Error::other("the station thread ended before its runtime started"))
        .and_then(|built| built)
        .map_err(thread_error)?;

    Ok(StationRuntime {
        handle,
        _stop: stop,
    })
}
