//! The database station: an in-memory row store behind `queuelab.v1.Database`.
//!
//! Each read or write queues for the station's server and holds it for a
//! service time; the store access itself happens after the hold. The store
//! is seeded at start-up with a fixed number of rows per table
//! ([`names::DATABASE_ROWS_PER_TABLE`]).

#![warn(missing_docs)]

pub mod store;

use std::sync::Arc;

use queuelab_proto::v1::database_server::{Database, DatabaseServer};
use queuelab_proto::v1::{ReadRowRequest, Row, WriteAck, WriteRowRequest};
use queuelab_station::launch::{ServiceConfig, Shutdown};
use queuelab_station::server::ServeError;
use queuelab_station::{StationHandler, names};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::store::{Store, StoreError};

/// The station name in the topology.
pub const STATION: &str = names::DATABASE;

/// The Database gRPC service on top of the database station.
#[derive(Debug, Clone)]
pub struct DatabaseService {
    handler: StationHandler,
    store: Arc<Store>,
}

fn to_status(error: StoreError) -> Status {
    match error {
        StoreError::UnknownTable { .. } => Status::not_found(error.to_string()),
        StoreError::KeyOutOfRange { .. } | StoreError::ValueTooLarge { .. } => {
            Status::invalid_argument(error.to_string())
        }
    }
}

#[tonic::async_trait]
impl Database for DatabaseService {
    async fn read_row(&self, request: Request<ReadRowRequest>) -> Result<Response<Row>, Status> {
        let ReadRowRequest { table, key } = request.get_ref().clone();
        self.handler.visit(request.metadata(), key).await?;

        let row = self.store.read(&table, key).map_err(to_status)?;
        let (found, value, version) = match row {
            Some(row) => (true, row.value, row.version),
            None => (false, Vec::new(), 0),
        };
        Ok(Response::new(Row {
            table,
            key,
            found,
            value,
            version,
        }))
    }

    async fn write_row(
        &self,
        request: Request<WriteRowRequest>,
    ) -> Result<Response<WriteAck>, Status> {
        let metadata = request.metadata().clone();
        let WriteRowRequest { table, key, value } = request.into_inner();
        self.handler.visit(&metadata, key).await?;

        let version = self.store.write(&table, key, value).map_err(to_status)?;
        Ok(Response::new(WriteAck {
            table,
            key,
            version,
        }))
    }
}

fn routes(handler: StationHandler) -> Routes {
    let store = Arc::new(Store::seeded(names::DATABASE_ROWS_PER_TABLE));
    Routes::new(DatabaseServer::new(DatabaseService { handler, store }))
}

/// Serves the database station on `config.listen` until `shutdown` completes.
///
/// # Errors
/// [`ServeError`] when the address cannot be bound, the settings are
/// invalid or the server fails.
pub async fn serve(config: ServiceConfig, shutdown: Shutdown) -> Result<(), ServeError> {
    config.serve(routes, shutdown).await
}

/// Serves the database station on an already bound `listener`.
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
