//! The product station: the catalog behind `queuelab.v1.ProductCatalog`.
//!
//! Each lookup queues for one of the station's servers, holds it for a
//! service time, then reads the product's row from the database with the
//! probability of the topology.

#![warn(missing_docs)]

use queuelab_proto::v1::product_catalog_server::{ProductCatalog, ProductCatalogServer};
use queuelab_proto::v1::{GetProductRequest, Product};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

/// The station name in the topology.
pub const STATION: &str = names::PRODUCT;

/// Returns the list price of a product, in cents: a fixed function of its id
/// between 1.00 and 100.99.
pub fn price_cents(product_id: u64) -> u64 {
    100 + (product_id * 37) % 10_000
}

/// The ProductCatalog gRPC service on top of the product station.
#[derive(Debug, Clone)]
pub struct CatalogLookup {
    handler: StationHandler,
}

#[tonic::async_trait]
impl ProductCatalog for CatalogLookup {
    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<Product>, Status> {
        let product_id = request.get_ref().product_id;
        self.handler.visit(request.metadata(), product_id).await?;
        Ok(Response::new(Product {
            product_id,
            title: format!("Product {product_id}"),
            price_cents: price_cents(product_id),
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    Routes::new(ProductCatalogServer::new(CatalogLookup { handler }))
}

/// Serves the product station on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the product station on an already bound `listener`.
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
