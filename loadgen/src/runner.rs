//! Runs the generator on two threads of its own: one that dispatches
//! requests on schedule and one that handles their replies.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use crate::error::ConnectError;
use crate::generator::{
    Progress, RunOptions, RunOutcome, Shared, collect_replies, dispatch, finish,
};
use crate::plan::Plan;
use crate::sender::SendRequest;

/// A failure of a run started with [`spawn_run`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The sender could not be created, usually because the target is
    /// unreachable.
    #[error(transparent)]
    Connect(#[from] ConnectError),

    /// The generator's thread or runtime could not be started.
    #[error("could not start the generator thread: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A run in progress on its own thread.
#[derive(Debug)]
pub struct RunHandle {
    progress: mpsc::Receiver<Progress>,
    thread: JoinHandle<Result<RunOutcome, RunError>>,
    stop: Arc<AtomicBool>,
}

/// Stops a run early, from any thread (a Ctrl-C handler, for example).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Stops sending. The requests in flight still end and are recorded,
    /// the window in progress is reported with its shortened length, and
    /// later phases are not run.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl RunHandle {
    /// Returns a [`Stopper`] for this run.
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stop))
    }

    /// Returns the progress snapshots as they come; the iterator ends when
    /// the run ends.
    pub fn progress(&self) -> mpsc::Iter<'_, Progress> {
        self.progress.iter()
    }

    /// Waits for the run to end and returns its windows.
    ///
    /// # Errors
    /// The error that stopped the run before it started sending.
    ///
    /// # Panics
    /// Resumes the panic of the generator thread, if it panicked.
    pub fn join(self) -> Result<RunOutcome, RunError> {
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Starts `plan` on two new threads and returns at once.
///
/// The reply thread runs a current-thread tokio runtime: it creates the
/// sender with `connect` (so the client's connection tasks run there), then
/// polls the requests and records their replies. The dispatch thread sends
/// each request at its scheduled time. It runs inside the same runtime's
/// context, so [`SendRequest::send`] may call tokio functions, but the
/// returned future is polled on the reply thread.
///
/// # Errors
/// [`RunError::Runtime`] when a thread cannot be spawned. Errors of
/// `connect` arrive through [`RunHandle::join`].
pub fn spawn_run<S, C, Fut>(
    plan: Plan,
    options: RunOptions,
    connect: C,
) -> Result<RunHandle, RunError>
where
    S: SendRequest + Send + 'static,
    C: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<S, ConnectError>>,
{
    let (progress_sender, progress) = mpsc::channel();
    let shared = Shared::new(&plan);
    let stop = Arc::clone(&shared.stop);

    let thread = std::thread::Builder::new()
        .name("loadgen-replies".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;
            let sender = runtime.block_on(connect())?;

            let (request_sender, requests) = tokio::sync::mpsc::unbounded_channel();
            let dispatch_thread = {
                let plan = plan.clone();
                let options = options.clone();
                let shared = shared.clone();
                let handle = runtime.handle().clone();
                std::thread::Builder::new()
                    .name("loadgen-dispatch".to_owned())
                    .spawn(move || {
                        let _runtime_context = handle.enter();
                        dispatch(
                            &plan,
                            sender,
                            &options,
                            &shared,
                            request_sender,
                            |snapshot| {
                                // The display may have gone away; the run goes on.
                                let _ = progress_sender.send(snapshot.clone());
                            },
                        )
                    })
                    .map_err(RunError::Runtime)?
            };

            runtime.block_on(collect_replies(requests, shared.clone()));
            let dispatch = match dispatch_thread.join() {
                Ok(dispatch) => dispatch,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            Ok(finish(&plan, dispatch, &shared, &options))
        })
        .map_err(RunError::Runtime)?;

    Ok(RunHandle {
        progress,
        thread,
        stop,
    })
}
