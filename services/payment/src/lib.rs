//! The payment station: charges behind `queuelab.v1.PaymentService`.
//!
//! Each charge queues for the station's server, holds it for a service time,
//! then records the charge in the database with the probability of the
//! topology.

#![warn(missing_docs)]

use queuelab_proto::v1::payment_service_server::{PaymentService, PaymentServiceServer};
use queuelab_proto::v1::{ChargeReceipt, ChargeRequest};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The station name in the topology.
pub const STATION: &str = names::PAYMENT;

/// The PaymentService gRPC service on top of the payment station.
#[derive(Debug, Clone)]
pub struct PaymentDesk {
    handler: StationHandler,
}

#[tonic::async_trait]
impl PaymentService for PaymentDesk {
    async fn charge(
        &self,
        request: Request<ChargeRequest>,
    ) -> Result<Response<ChargeReceipt>, Status> {
        let charge = request.get_ref();
        if charge.amount_cents == 0 {
            return Err(Status::invalid_argument(format!(
                "payment {} has amount 0; charge at least 1 cent",
                charge.payment_id
            )));
        }

        let payment_id = charge.payment_id;
        self.handler.visit(request.metadata(), payment_id).await?;
        Ok(Response::new(ChargeReceipt {
            payment_id,
            approved: true,
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    Routes::new(PaymentServiceServer::new(PaymentDesk { handler }))
}

/// Serves the payment station on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the payment station on an already bound `listener`.
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
