//! The one operation the generator needs from a client: send one request and
//! report the gRPC status code of its reply.

use std::future::Future;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::{ConnectError, PlanError};

/// Time allowed to open the connection to the target before a run, so an
/// unreachable target fails in seconds instead of hanging.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Sends one request per call, for the generator to drive on its schedule.
///
/// Implemented by [`crate::StorefrontSender`] (the mesh's gateway),
/// [`crate::EchoSender`] (the minimal bench service) and by any closure
/// `FnMut(Duration) -> impl Future<Output = tonic::Code>`, which lets tests
/// drive the generator without a network.
pub trait SendRequest {
    /// Starts one request and returns a future that resolves to the status
    /// code of its reply ([`tonic::Code::Ok`] on success).
    ///
    /// `timeout` is the per-request timeout, for the implementation to send
    /// as the gRPC deadline. The generator also enforces it locally.
    ///
    /// The generator calls this on its dispatch thread at the scheduled
    /// time, so it should return quickly. The future is polled on the reply
    /// thread's tokio runtime.
    fn send(&mut self, timeout: Duration) -> impl Future<Output = tonic::Code> + Send + 'static;
}

impl<F, Fut> SendRequest for F
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = tonic::Code> + Send + 'static,
{
    fn send(&mut self, timeout: Duration) -> impl Future<Output = tonic::Code> + Send + 'static {
        self(timeout)
    }
}

/// Opens one HTTP/2 connection to `url`, failing after [`CONNECT_TIMEOUT`].
///
/// All requests of a run share this connection, as in a typical gRPC
/// client, and HTTP/2 multiplexes them on it.
///
/// # Errors
/// [`ConnectError::InvalidTarget`] for a URL that is not `http://host:port`,
/// [`ConnectError::Unreachable`] when no connection is made in time.
pub async fn connect(url: &str) -> Result<Channel, ConnectError> {
    if !url.starts_with("http://") {
        return Err(ConnectError::InvalidTarget(PlanError::InvalidTarget {
            url: url.to_owned(),
        }));
    }
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|_| {
            ConnectError::InvalidTarget(PlanError::InvalidTarget {
                url: url.to_owned(),
            })
        })?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);

    endpoint
        .connect()
        .await
        .map_err(|source| ConnectError::Unreachable {
            url: url.to_owned(),
            timeout: CONNECT_TIMEOUT,
            source,
        })
}
