//! The api-gateway station: the mesh's entry point.
//!
//! It serves `queuelab.v1.Storefront/HandleRequest`, which the load generator
//! calls for every external request. Each request queues for one of the
//! gateway's servers, holds it for a service time, then calls user, product
//! and order with the probabilities of the topology.

#![warn(missing_docs)]

use queuelab_proto::v1::storefront_server::{Storefront, StorefrontServer};
use queuelab_proto::v1::{StorefrontReply, StorefrontRequest};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The station name in the topology.
pub const STATION: &str = names::API_GATEWAY;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 4096;

/// The Storefront gRPC service on top of the gateway station.
#[derive(Debug, Clone)]
pub struct StorefrontService {
    handler: StationHandler,
}

#[tonic::async_trait]
impl Storefront for StorefrontService {
    async fn handle_request(
        &self,
        request: Request<StorefrontRequest>,
    ) -> Result<Response<StorefrontReply>, Status> {
        let message = request.get_ref();
        if message.body.len() > MAX_BODY_BYTES {
            return Err(Status::invalid_argument(format!(
                "request {} has a {}-byte body; the limit is {MAX_BODY_BYTES} bytes",
                message.request_id,
                message.body.len()
            )));
        }

        let request_id = message.request_id;
        let report = self.handler.visit(request.metadata(), request_id).await?;
        Ok(Response::new(StorefrontReply {
            request_id,
            downstream_calls: report.calls_made,
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    Routes::new(StorefrontServer::new(StorefrontService { handler }))
}

/// Serves the gateway on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the gateway on an already bound `listener`.
///
/// # Errors
/// As [`serve`], without the bind step.
pub async fn serve_on(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    config.serve_on(listener, routes, shutdown).await
}
