//! Runs the generator on a dedicated thread with a current-thread tokio
//! runtime of its own, so no other work delays its sends.

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::ConnectError;
use crate::generator::{Progress, RunOptions, RunOutcome, run};
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
}

impl RunHandle {
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

/// Starts `plan` on a new thread: creates the sender with `connect` on that
/// thread's runtime (so the client's connection tasks run there too), then
/// runs the generator.
///
/// # Errors
/// [`RunError::Runtime`] when the thread cannot be spawned. Errors of
/// `connect` arrive through [`RunHandle::join`].
pub fn spawn_run<S, C, Fut>(
    plan: Plan,
    options: RunOptions,
    connect: C,
) -> Result<RunHandle, RunError>
where
    S: SendRequest,
    C: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<S, ConnectError>>,
{
    let (progress_sender, progress) = mpsc::channel();

    let thread = std::thread::Builder::new()
        .name("loadgen-sender".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;

            runtime.block_on(async move {
                let sender = connect().await?;
                let outcome = run(&plan, sender, &options, |snapshot| {
                    // The display may have gone away; the run goes on.
                    let _ = progress_sender.send(snapshot.clone());
                })
                .await;
                Ok(outcome)
            })
        })
        .map_err(RunError::Runtime)?;

    Ok(RunHandle { progress, thread })
}
