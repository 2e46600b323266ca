//! The order station: order placement behind `queuelab.v1.OrderService`.
//!
//! Each order queues for one of the station's servers, holds it for a
//! service time, then charges the payment and writes the order row with the
//! probabilities of the topology.

#![warn(missing_docs)]

use queuelab_proto::v1::order_service_server::{OrderService, OrderServiceServer};
use queuelab_proto::v1::{OrderConfirmation, PlaceOrderRequest};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The station name in the topology.
pub const STATION: &str = names::ORDER;

/// Largest quantity of one order line.
pub const MAX_QUANTITY: u32 = 1000;

/// The OrderService gRPC service on top of the order station.
#[derive(Debug, Clone)]
pub struct OrderDesk {
    handler: StationHandler,
}

#[tonic::async_trait]
impl OrderService for OrderDesk {
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<OrderConfirmation>, Status> {
        let order = request.get_ref();
        if order.quantity == 0 || order.quantity > MAX_QUANTITY {
            return Err(Status::invalid_argument(format!(
                "order {} has quantity {}; it must lie in 1..={MAX_QUANTITY}",
                order.order_id, order.quantity
            )));
        }

        let order_id = order.order_id;
        // NOTE: the unit price is a fixed stand-in (5.00); the order station
        // does not ask the product station, because the topology has no such call.
        let total_cents = 500 * u64::from(order.quantity);
        self.handler.visit(request.metadata(), order_id).await?;
        Ok(Response::new(OrderConfirmation {
            order_id,
            total_cents,
            accepted: true,
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    Routes::new(OrderServiceServer::new(OrderDesk { handler }))
}

/// Serves the order station on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the order station on an already bound `listener`.
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
