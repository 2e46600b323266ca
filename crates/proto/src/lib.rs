//! gRPC messages, clients and servers of the queuelab mesh.
//!
//! Everything here is generated at build time from the `.proto` files under
//! the workspace's `proto/queuelab/v1/` folder:
//!
//! - `storefront.proto`: the entry API (`queuelab.v1.Storefront/HandleRequest`)
//!   that the api-gateway serves and the load generator calls;
//! - `user.proto`, `product.proto`, `order.proto`, `payment.proto`,
//!   `database.proto`: the domain API of each station;
//! - `stats.proto`: the measurement-window API that every station serves;
//! - `analysis.proto`: the analysis service, which runs one measurement
//!   window across the mesh and compares it with the model.
//!
//! Every station also serves `grpc.health.v1.Health` (from tonic-health).

/// Package `queuelab.v1`.
pub mod v1 {
    #![allow(missing_docs)]
    #![allow(clippy::all)]
    tonic::include_proto!("queuelab.v1");
}
