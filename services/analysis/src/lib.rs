//! The analysis service: runs one measurement window across the mesh and
//! compares the measured figures with the queueing model.
//!
//! - [`service`]: the `queuelab.v1.Analysis` gRPC API;
//! - [`collect`]: the calls to every station's `StationStats` API;
//! - [`launch`]: the command-line settings and the process entry point.

#![warn(missing_docs)]

pub mod collect;
pub mod launch;
pub mod service;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

use queuelab_proto::v1::analysis_server::AnalysisServer;
use queuelab_station::config::station_address;
use queuelab_topology::Topology;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

pub use service::{AnalysisConfig, AnalysisService};

/// Address the analysis service listens on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50060";

/// A failure to configure or run the service.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisServiceError {
    /// A station of the topology has no address.
    #[error(
        "station {0:?} has no address in the topology: add address = \"host:port\" or pass --station {0}=HOST:PORT"
    )]
    NoAddress(String),
    /// The listen address could not be bound.
    #[error("failed to listen on {address}: {source}; pick a free port with --listen")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server failed.
    #[error("analysis gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Resolves each station's stats address: `overrides` first, then the
/// topology's address, then the reference port.
pub fn station_addresses(
    topology: &Topology,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AnalysisServiceError> {
    topology
        .stations
        .iter()
        .map(|station| {
            let address = match overrides.get(&station.name) {
                Some(address) => address.clone(),
                None => station_address(topology, &station.name)
                    .map_err(|_| AnalysisServiceError::NoAddress(station.name.clone()))?,
            };
            Ok((station.name.clone(), address))
        })
        .collect()
}

/// Binds `address`.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, AnalysisServiceError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AnalysisServiceError::Bind { address, source })
}

/// Serves the analysis API and grpc.health.v1 on `listener` until `shutdown` completes.
pub async fn serve(
    config: AnalysisConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AnalysisServiceError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<AnalysisServer<AnalysisService>>()
        .await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    tracing::info!(address = ?listener.local_addr().ok(), stations = config.stations.len(), "analysis service listening");
    // Spans per RPC, exported only when OpenTelemetry export is on.
    Server::builder()
        .layer(queuelab_telemetry::rpc::ServerLayer::new("analysis"))
        .add_service(health_service)
        .add_service(AnalysisServer::new(AnalysisService::new(config)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    tracing::info!("analysis service stopped");
    Ok(())
}
