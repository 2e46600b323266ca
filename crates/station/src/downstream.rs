//! Calls from one station to the stations downstream of it.
//!
//! Each called station is reached through its own domain API (a user lookup,
//! a product lookup, an order, a charge, a row read or write). The request
//! built for it carries ids derived from the caller's request key.

use std::time::{Duration, Instant};

use queuelab_proto::v1::database_client::DatabaseClient;
use queuelab_proto::v1::order_service_client::OrderServiceClient;
use queuelab_proto::v1::payment_service_client::PaymentServiceClient;
use queuelab_proto::v1::product_catalog_client::ProductCatalogClient;
use queuelab_proto::v1::storefront_client::StorefrontClient;
use queuelab_proto::v1::user_service_client::UserServiceClient;
use queuelab_proto::v1::{
    ChargeRequest, GetProductRequest, GetUserRequest, PlaceOrderRequest, ReadRowRequest,
    StorefrontRequest, WriteRowRequest,
};
use queuelab_telemetry::rpc::ClientCall;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};
use tracing::Instrument;

use crate::error::ConfigError;
use crate::names;

/// Timeout of one downstream call when the incoming request has no deadline,
/// so that a stalled peer cannot hold a request for ever.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Time allowed to open a TCP connection to a peer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The peer of one outgoing call.
#[derive(Debug, Clone)]
struct Peer {
    to: String,
    address: String,
    channel: Channel,
}

/// Clients for every outgoing call of one station, in topology order.
#[derive(Debug, Clone)]
pub struct Downstream {
    caller: String,
    peers: Vec<Peer>,
}

impl Downstream {
    /// Prepares one lazily connected channel per call. `targets` lists the
    /// called station and its `host:port` address, in topology order.
    ///
    /// # Errors
    /// [`ConfigError::UnknownCallTarget`] for a station no service
    /// implements, [`ConfigError::InvalidAddress`] for an address that is not
    /// `host:port`.
    pub fn new(caller: &str, targets: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut peers = Vec::with_capacity(targets.len());
        for (to, address) in targets {
            if !names::ALL.contains(&to.as_str()) {
                return Err(ConfigError::UnknownCallTarget {
                    station: caller.to_owned(),
                    to: to.clone(),
                });
            }
            let invalid = |reason: String| ConfigError::InvalidAddress {
                station: caller.to_owned(),
                to: to.clone(),
                address: address.clone(),
                reason,
            };
            let endpoint = Endpoint::from_shared(format!("http://{address}"))
                .map_err(|error| invalid(error.to_string()))?
                .connect_timeout(CONNECT_TIMEOUT)
                .tcp_nodelay(true);
            peers.push(Peer {
                to: to.clone(),
                address: address.clone(),
                channel: endpoint.connect_lazy(),
            });
        }
        Ok(Self {
            caller: caller.to_owned(),
            peers,
        })
    }

    /// Returns the number of outgoing calls.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Returns true when the station calls no one.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Makes outgoing call `index` for the request with id `key`, giving up
    /// at `deadline` or after [`DEFAULT_CALL_TIMEOUT`], whichever comes first.
    ///
    /// # Errors
    /// The callee's status, with a message that names the caller, the callee
    /// and its address; DEADLINE_EXCEEDED when the timeout passes.
    pub async fn call(
        &self,
        index: usize,
        key: u64,
        deadline: Option<Instant>,
    ) -> Result<(), Status> {
        let peer = &self.peers[index];
        let default_deadline = Instant::now() + DEFAULT_CALL_TIMEOUT;
        let deadline = deadline.map_or(default_deadline, |deadline| deadline.min(default_deadline));
        let timeout = deadline.saturating_duration_since(Instant::now());

        // The timeout travels to the callee as grpc-timeout. The local timer
        // covers a peer that never replies at all. The client span is current
        // while the request is built, so its context goes out as traceparent.
        let client_call = ClientCall::start(&self.caller, self.method(peer));
        let call = self.send(peer, key, timeout);
        let call = tokio::time::timeout(timeout, call).instrument(client_call.span().clone());
        let result = match call.await {
            Ok(result) => result.map_err(deadline_status),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "timed out after {} ms",
                timeout.as_millis()
            ))),
        };
        let code = result
            .as_ref()
            .map_or_else(Status::code, |_| tonic::Code::Ok);
        client_call.finish(&self.caller, code);
        result.map_err(|status| {
            Status::new(
                status.code(),
                format!(
                    "call from {} to {} at {} failed: {}",
                    self.caller,
                    peer.to,
                    peer.address,
                    status.message()
                ),
            )
        })
    }

    async fn send(&self, peer: &Peer, key: u64, timeout: Duration) -> Result<(), Status> {
        let channel = peer.channel.clone();
        match peer.to.as_str() {
            names::API_GATEWAY => {
                let message = StorefrontRequest {
                    request_id: key,
                    customer_id: key % 10_000,
                    product_id: key % 1_000,
                    body: Vec::new(),
                };
                StorefrontClient::new(channel)
                    .handle_request(with_timeout(message, timeout))
                    .await?;
            }
            names::USER => {
                let message = GetUserRequest {
                    user_id: key % 10_000,
                };
                UserServiceClient::new(channel)
                    .get_user(with_timeout(message, timeout))
                    .await?;
            }
            names::PRODUCT => {
                let message = GetProductRequest {
                    product_id: key % 1_000,
                };
                ProductCatalogClient::new(channel)
                    .get_product(with_timeout(message, timeout))
                    .await?;
            }
            names::ORDER => {
                let message = PlaceOrderRequest {
                    order_id: key,
                    user_id: key % 10_000,
                    product_id: key % 1_000,
                    quantity: 1,
                };
                OrderServiceClient::new(channel)
                    .place_order(with_timeout(message, timeout))
                    .await?;
            }
            names::PAYMENT => {
                let message = ChargeRequest {
                    payment_id: key,
                    order_id: key,
                    amount_cents: 1_000 + key % 9_000,
                };
                PaymentServiceClient::new(channel)
                    .charge(with_timeout(message, timeout))
                    .await?;
            }
            names::DATABASE => self.call_database(channel, key, timeout).await?,
            other => unreachable!("Downstream::new rejects unknown station {other:?}"),
        }
        Ok(())
    }

    /// Returns the full gRPC method that calls to `peer` use, as [`Self::send`]
    /// picks it.
    fn method(&self, peer: &Peer) -> &'static str {
        match peer.to.as_str() {
            names::API_GATEWAY => "queuelab.v1.Storefront/HandleRequest",
            names::USER => "queuelab.v1.UserService/GetUser",
            names::PRODUCT => "queuelab.v1.ProductCatalog/GetProduct",
            names::ORDER => "queuelab.v1.OrderService/PlaceOrder",
            names::PAYMENT => "queuelab.v1.PaymentService/Charge",
            names::DATABASE => match self.caller.as_str() {
                names::ORDER | names::PAYMENT => "queuelab.v1.Database/WriteRow",
                _ => "queuelab.v1.Database/ReadRow",
            },
            _ => "_OTHER",
        }
    }

    /// Order and payment write their row; every other caller reads one.
    async fn call_database(
        &self,
        channel: Channel,
        key: u64,
        timeout: Duration,
    ) -> Result<(), Status> {
        let mut client = DatabaseClient::new(channel);
        match self.caller.as_str() {
            names::ORDER | names::PAYMENT => {
                let table = if self.caller == names::ORDER {
                    "orders"
                } else {
                    "payments"
                };
                let message = WriteRowRequest {
                    table: table.to_owned(),
                    key: key % names::DATABASE_ROWS_PER_TABLE,
                    value: key.to_le_bytes().to_vec(),
                };
                client.write_row(with_timeout(message, timeout)).await?;
            }
            caller => {
                let table = if caller == names::PRODUCT {
                    "products"
                } else {
                    "users"
                };
                let message = ReadRowRequest {
                    table: table.to_owned(),
                    key: key % names::DATABASE_ROWS_PER_TABLE,
                };
                client.read_row(with_timeout(message, timeout)).await?;
            }
        }
        Ok(())
    }
}

/// Reports a callee's expired grpc-timeout as DEADLINE_EXCEEDED.
///
/// tonic 0.14's server replies CANCELLED with the message "Timeout expired"
/// when its own grpc-timeout timer fires before the handler replies, though
/// the deadline, not the caller, ended the call.
fn deadline_status(status: Status) -> Status {
    if status.code() == tonic::Code::Cancelled && status.message() == "Timeout expired" {
        Status::deadline_exceeded("the callee's grpc-timeout passed before it replied")
    } else {
        status
    }
}

fn with_timeout<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    queuelab_telemetry::propagation::inject_current(request.metadata_mut());
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_unknown_target() {
        let targets = [("inventory".to_owned(), "127.0.0.1:7000".to_owned())];
        let result = Downstream::new("order", &targets);
        assert!(
            matches!(result, Err(ConfigError::UnknownCallTarget { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn new_rejects_invalid_address() {
        let targets = [("payment".to_owned(), "not an address".to_owned())];
        let result = Downstream::new("order", &targets);
        assert!(
            matches!(result, Err(ConfigError::InvalidAddress { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn call_to_closed_port_is_unavailable() {
        // Bind and drop a listener so that the port is very likely closed.
        let address = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let targets = [("payment".to_owned(), address.to_string())];
        let downstream = Downstream::new("order", &targets).unwrap();

        let status = downstream.call(0, 1, None).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(
            status.message().contains("call from order to payment"),
            "{}",
            status.message()
        );
    }
}
