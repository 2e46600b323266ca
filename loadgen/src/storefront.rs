//! The sender for the mesh's entry API, `queuelab.v1.Storefront/HandleRequest`
//! served by the api-gateway.

use std::time::Duration;

use queuelab_proto::v1::StorefrontRequest;
use queuelab_proto::v1::storefront_client::StorefrontClient;
use queuelab_telemetry::rpc::ClientCall;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tonic::Request;
use tonic::transport::Channel;
use tracing::Instrument;

/// Caller name in the client spans and metrics of the load generator.
const CALLER: &str = "loadgen";

/// The full gRPC method of every request.
const METHOD: &str = "queuelab.v1.Storefront/HandleRequest";

/// Number of distinct customer and product ids the requests draw from.
///
/// NOTE: ids are drawn uniformly; the stations do not cache by id, so the
/// spread only shows in the ids their logs carry.
const ID_SPACE: u64 = 10_000;

/// Sends `HandleRequest` calls over one shared connection, each with the next
/// sequence number as `request_id` and random customer and product ids.
#[derive(Debug)]
pub struct StorefrontSender {
    client: StorefrontClient<Channel>,
    next_request_id: u64,
    ids: StdRng,
}

impl StorefrontSender {
    /// Creates a sender over `channel`; `seed` fixes the id sequence.
    pub fn new(channel: Channel, seed: u64) -> Self {
        Self {
            client: StorefrontClient::new(channel),
            next_request_id: 0,
            ids: StdRng::seed_from_u64(seed),
        }
    }
}

impl crate::SendRequest for StorefrontSender {
    fn send(
        &mut self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = tonic::Code> + Send + 'static {
        let mut client = self.client.clone();
        let mut request = Request::new(StorefrontRequest {
            request_id: self.next_request_id,
            customer_id: self.ids.random_range(0..ID_SPACE),
            product_id: self.ids.random_range(0..ID_SPACE),
            body: Vec::new(),
        });
        request.set_timeout(timeout);
        self.next_request_id += 1;

        // Each request starts a trace when export is on: its client span's
        // context goes to the gateway as traceparent.
        let call = ClientCall::start(CALLER, METHOD);
        queuelab_telemetry::propagation::inject(call.span(), request.metadata_mut());
        let span = call.span().clone();

        async move {
            let code = match client.handle_request(request).instrument(span).await {
                Ok(_) => tonic::Code::Ok,
                Err(status) => status.code(),
            };
            call.finish(CALLER, code);
            code
        }
    }
}
