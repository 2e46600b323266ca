//! The user station: customer profiles behind `queuelab.v1.UserService`.
//!
//! Each lookup queues for one of the station's servers, holds it for a
//! service time, then reads the user's row from the database with the
//! probability of the topology.

#![warn(missing_docs)]

use queuelab_proto::v1::user_service_server::{UserService, UserServiceServer};
use queuelab_proto::v1::{GetUserRequest, UserProfile};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The station name in the topology.
pub const STATION: &str = names::USER;

/// The UserService gRPC service on top of the user station.
#[derive(Debug, Clone)]
pub struct UserLookup {
    handler: StationHandler,
}

#[tonic::async_trait]
impl UserService for UserLookup {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<UserProfile>, Status> {
        let user_id = request.get_ref().user_id;
        self.handler.visit(request.metadata(), user_id).await?;
        Ok(Response::new(UserProfile {
            user_id,
            display_name: format!("Customer {user_id}"),
            email: format!("customer{user_id}@example.com"),
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    Routes::new(UserServiceServer::new(UserLookup { handler }))
}

/// Serves the user station on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the user station on an already bound `listener`.
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
