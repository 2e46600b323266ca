//! Running the stations of a mesh as child processes and stopping them.
//!
//! [`Mesh::start`] spawns one child per station, forwards each child's
//! stderr line by line with the station name in front, and waits until every
//! station reports SERVING over grpc.health.v1. When a child fails to start,
//! exits early or stays unhealthy, the others are stopped and the error
//! names the station, its exit status and the last lines it wrote.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Lines of a child's stderr kept for error reports.
const KEPT_STDERR_LINES: usize = 20;

/// Pause between two health checks of a starting child.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How to start one station.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Station name, used in logs and errors.
    pub name: String,
    /// Program to run.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Address where the child serves grpc.health.v1.
    pub address: SocketAddr,
}

/// A failure to start a mesh.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The program could not be run at all.
    #[error("station {station}: failed to run {program}: {source}")]
    Spawn {
        /// Station name.
        station: String,
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The child exited before it was healthy.
    #[error("station {station} exited during start-up with {status}; its last output:\n{output}")]
    ExitedEarly {
        /// Station name.
        station: String,
        /// The child's exit status.
        status: ExitStatus,
        /// Its last lines of stderr.
        output: String,
    },
    /// The child did not report SERVING in time.
    #[error(
        "station {station} did not report healthy at {address} within {timeout_s:.1} s; \
         its last output:\n{output}"
    )]
    NotHealthy {
        /// Station name.
        station: String,
        /// The health-check address.
        address: SocketAddr,
        /// The time allowed, in seconds.
        timeout_s: f64,
        /// Its last lines of stderr.
        output: String,
    },
}

/// One running child.
#[derive(Debug)]
struct Running {
    spec: ChildSpec,
    child: Child,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Running {
    fn tail(&self) -> String {
        let lines = self
            .stderr_tail
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.is_empty() {
            return "  (no output)".to_owned();
        }
        lines
            .iter()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The stations of a mesh, running as child processes.
///
/// Dropping a `Mesh` kills the children that are still running; call
/// [`Mesh::stop`] for a graceful drain.
#[derive(Debug)]
pub struct Mesh {
    children: Vec<Running>,
}

impl Mesh {
    /// Starts every child in order and waits until all report SERVING,
    /// allowing `ready_timeout` in total.
    ///
    /// # Errors
    /// [`SuperviseError`] naming the first station that failed; the children
    /// already started are stopped first.
    pub async fn start(
        specs: Vec<ChildSpec>,
        ready_timeout: Duration,
    ) -> Result<Self, SuperviseError> {
        let mut mesh = Mesh {
            children: Vec::with_capacity(specs.len()),
        };
        for spec in specs {
            match spawn(spec) {
                Ok(running) => mesh.children.push(running),
                Err(error) => {
                    mesh.stop(Duration::from_secs(2)).await;
                    return Err(error);
                }
            }
        }

        let deadline = Instant::now() + ready_timeout;
        for index in 0..mesh.children.len() {
            if let Err(error) = mesh.await_healthy(index, deadline, ready_timeout).await {
                mesh.stop(Duration::from_secs(2)).await;
                return Err(error);
            }
        }
        Ok(mesh)
    }

    /// Returns the name and address of every station, in start order.
    pub fn addresses(&self) -> Vec<(String, SocketAddr)> {
        self.children
            .iter()
            .map(|running| (running.spec.name.clone(), running.spec.address))
            .collect()
    }

    async fn await_healthy(
        &mut self,
        index: usize,
        deadline: Instant,
        ready_timeout: Duration,
    ) -> Result<(), SuperviseError> {
        let address = self.children[index].spec.address;
        loop {
            let running = &mut self.children[index];
            if let Ok(Some(status)) = running.child.try_wait() {
                // Let the stderr forwarder catch the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(SuperviseError::ExitedEarly {
                    station: running.spec.name.clone(),
                    status,
                    output: running.tail(),
                });
            }
            if is_serving(address).await {
                tracing::info!(station = %running.spec.name, %address, "station healthy");
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SuperviseError::NotHealthy {
                    station: running.spec.name.clone(),
                    address,
                    timeout_s: ready_timeout.as_secs_f64(),
                    output: running.tail(),
                });
            }
            tokio::time::sleep(HEALTH_POLL_INTERVAL).await;
        }
    }

    /// Waits until any child exits and returns its name and exit status.
    /// Never completes for a mesh without children.
    pub async fn wait_for_exit(&mut self) -> (String, ExitStatus) {
        loop {
            for running in &mut self.children {
                if let Ok(Some(status)) = running.child.try_wait() {
                    return (running.spec.name.clone(), status);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Sends SIGTERM to every child, so each drains its requests in flight,
    /// and kills those still running after `grace`. Returns each station's
    /// exit status (`None` when it could not be read).
    pub async fn stop(&mut self, grace: Duration) -> Vec<(String, Option<ExitStatus>)> {
        for running in &self.children {
            terminate(&running.child);
        }

        let deadline = tokio::time::Instant::now() + grace;
        let mut statuses = Vec::with_capacity(self.children.len());
        for running in &mut self.children {
            let name = running.spec.name.clone();
            let status = match tokio::time::timeout_at(deadline, running.child.wait()).await {
                Ok(status) => status.ok(),
                Err(_) => {
                    tracing::warn!(station = %name, grace_s = grace.as_secs_f64(), "station did not stop in time; killing it");
                    let _ = running.child.kill().await;
                    running.child.wait().await.ok()
                }
            };
            statuses.push((name, status));
        }
        self.children.clear();
        statuses
    }
}

fn spawn(spec: ChildSpec) -> Result<Running, SuperviseError> {
    let mut child = Command::new(&spec.program)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SuperviseError::Spawn {
            station: spec.name.clone(),
            program: spec.program.display().to_string(),
            source,
        })?;

    let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_STDERR_LINES)));
    if let Some(stderr) = child.stderr.take() {
        let tail = Arc::clone(&stderr_tail);
        let name = spec.name.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{name}] {line}");
                let mut tail = tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if tail.len() == KEPT_STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
    }

    tracing::info!(station = %spec.name, pid = child.id(), address = %spec.address, "station started");
    Ok(Running {
        spec,
        child,
        stderr_tail,
    })
}

/// Asks a child to stop with SIGTERM.
fn terminate(child: &Child) {
    let Some(pid) = child.id() else {
        return;
    };
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return;
        };
        // SAFETY: kill(2) with a pid this process spawned and has not yet
        // reaped, so the pid cannot belong to another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Returns true when the grpc.health.v1 Check at `address` returns SERVING.
pub async fn is_serving(address: SocketAddr) -> bool {
    let endpoint = match tonic::transport::Endpoint::from_shared(format!("http://{address}")) {
        Ok(endpoint) => endpoint.connect_timeout(Duration::from_millis(500)),
        Err(_) => return false,
    };
    let Ok(channel) = endpoint.connect().await else {
        return false;
    };
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request.set_timeout(Duration::from_secs(1));
    match HealthClient::new(channel).check(request).await {
        Ok(response) => response.into_inner().status == ServingStatus::Serving as i32,
        Err(_) => false,
    }
}
