//! Serving one station over gRPC: its domain API, the stats API and
//! grpc.health.v1, with a graceful drain on shutdown.

use std::future::Future;
use std::net::SocketAddr;

use queuelab_proto::v1::station_stats_server::StationStatsServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::station::Station;
use crate::stats_service::StatsService;

/// Samples the station's agent keeps per window: 5 minutes at one a second.
/// Each sample carries the host's disk and mount lists, about 2 KiB, so the
/// agent's default of an hour would add some 7 MiB per service while a
/// window stays open. A longer window reports on its last 5 minutes and
/// counts the samples it dropped.
const AGENT_WINDOW_SAMPLES: usize = 300;

/// A failure while serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error(
        "station {station}: failed to listen on {address}: {source}; pick a free port or stop the process that uses it"
    )]
    Bind {
        /// Station name.
        station: String,
        /// The requested address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The gRPC server stopped with an error.
    #[error("station {station}: gRPC server failed: {source}")]
    Transport {
        /// Station name.
        station: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// The station's configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::error::ConfigError),
}

/// Binds `address`, mapping a failure to [`ServeError::Bind`].
///
/// # Errors
/// [`ServeError::Bind`] when the port is taken or the address is not local.
pub async fn bind(station: &str, address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            station: station.to_owned(),
            address,
            source,
        })
}

/// Serves `domain` (the station's own API, wrapped in [`Routes`]) plus the
/// stats API and grpc.health.v1 on `listener` until `shutdown` completes.
///
/// On shutdown the health status turns to NOT_SERVING, the listener stops
/// accepting, and the call returns once every request in flight has replied.
/// The call also starts the process's host agent, whose report of each
/// window goes into the window figures. Further gRPC services can be added
/// to `domain` with [`Routes::add_service`] before the call.
///
/// # Errors
/// [`ServeError::Transport`] when the server fails.
pub async fn serve(
    station: Station,
    domain: Routes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let name = station.name().to_owned();
    let address = listener.local_addr().ok();

    // The empty service name reports the whole server's health, as the
    // grpc.health.v1 protocol defines it.
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", ServingStatus::Serving).await;

    // The agent samples this process once a second; a station without one
    // still serves, and its reports lack CPU, memory and I/O figures.
    let agent_config = queuelab_agent::AgentConfig {
        window_capacity: AGENT_WINDOW_SAMPLES,
        ..queuelab_agent::AgentConfig::default()
    };
    let agent = match queuelab_agent::spawn_sampler(agent_config) {
        Ok(handle) => Some(std::sync::Arc::new(handle)),
        Err(error) => {
            tracing::warn!(station = %name, %error, "host agent failed to start; reports will lack its figures");
            None
        }
    };
    let occupancy_station = station.clone();
    let routes = domain
        .add_service(StationStatsServer::new(StatsService::with_agent(
            station, agent,
        )))
        .add_service(health_service);

    // Reports queue length and busy servers while export is on.
    let _occupancy = queuelab_telemetry::metrics::watch_occupancy(
        &name,
        occupancy_station.spec().servers,
        move || occupancy_station.present(),
    );

    tracing::info!(station = %name, address = ?address, "station serving");
    let drain_health = health.clone();
    let drain_name = name.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!(station = %drain_name, "shutdown requested; draining requests in flight");
        drain_health
            .set_service_status("", ServingStatus::NotServing)
            .await;
    };

    Server::builder()
        .tcp_nodelay(true)
        // A server span per request to the domain API, child of the
        // caller's span when the request carries a traceparent.
        .layer(queuelab_telemetry::rpc::ServerLayer::new(&name))
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(|source| ServeError::Transport {
            station: name.clone(),
            source,
        })?;

    tracing::info!(station = %name, "station stopped");
    Ok(())
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM, for [`serve`]'s
/// `shutdown` argument.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();

    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "failed to watch SIGTERM; only Ctrl-C stops the service");
                let _ = interrupt.await;
            }
        }
    }

    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
