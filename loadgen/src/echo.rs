//! A minimal unary Echo service and its sender, to measure the generator and
//! a plain tonic client against a server that adds no queueing of its own.
//!
//! The service is defined in `proto/bench.proto` of this crate.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// Messages, client and server generated from `proto/bench.proto`.
pub mod proto {
    #![allow(missing_docs)]
    #![allow(clippy::all)]
    tonic::include_proto!("queuelab.bench.v1");
}

use proto::echo_client::EchoClient;
use proto::echo_server::{Echo, EchoServer};
use proto::{EchoReply, EchoRequest};

/// The Echo service: replies with the request's payload after a delay of
/// the request's `stall_ns`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoService;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let request = request.into_inner();
        if request.stall_ns > 0 {
            tokio::time::sleep(Duration::from_nanos(request.stall_ns)).await;
        }
        Ok(Response::new(EchoReply {
            payload: request.payload,
        }))
    }
}

/// Serves [`EchoService`] on `listener` until the task is dropped.
///
/// # Errors
/// The transport error that stopped the server.
pub async fn serve_echo(listener: TcpListener) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(EchoServer::new(EchoService))
        .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)))
        .await
}

/// Binds 127.0.0.1 on an OS-chosen port, spawns [`serve_echo`] on the
/// current tokio runtime, and returns the bound address.
///
/// # Errors
/// The I/O error of binding the listener.
pub async fn spawn_echo_server() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = serve_echo(listener).await {
            tracing::warn!(%error, "echo server stopped");
        }
    });
    Ok(address)
}

/// Sends Echo requests with an empty payload over one shared connection.
#[derive(Debug, Clone)]
pub struct EchoSender {
    client: EchoClient<Channel>,
    stall: Duration,
}

impl EchoSender {
    /// Creates a sender over `channel` whose requests ask the server to
    /// stall for `stall` before replying.
    pub fn new(channel: Channel, stall: Duration) -> Self {
        Self {
            client: EchoClient::new(channel),
            stall,
        }
    }
}

impl crate::SendRequest for EchoSender {
    fn send(
        &mut self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = tonic::Code> + Send + 'static {
        let mut client = self.client.clone();
        let mut request = Request::new(EchoRequest {
            payload: Vec::new(),
            stall_ns: u64::try_from(self.stall.as_nanos()).unwrap_or(u64::MAX),
        });
        request.set_timeout(timeout);

        async move {
            match client.echo(request).await {
                Ok(_) => tonic::Code::Ok,
                Err(status) => status.code(),
            }
        }
    }
}
