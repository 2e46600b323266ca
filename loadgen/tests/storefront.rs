//! The Storefront sender against a stand-in gateway that records what it
//! receives: one call per send, sequential request ids, and the gRPC
//! deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use queuelab_loadgen::{Plan, RunOptions, StorefrontSender, connect, spawn_run};
use queuelab_proto::v1::storefront_server::{Storefront, StorefrontServer};
use queuelab_proto::v1::{StorefrontReply, StorefrontRequest};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// One request as the stand-in gateway received it.
#[derive(Clone, Debug)]
struct Received {
    request_id: u64,
    grpc_timeout: Option<String>,
}

/// A gateway that replies at once and keeps every request it received.
#[derive(Clone, Default)]
struct RecordingGateway {
    received: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl Storefront for RecordingGateway {
    async fn handle_request(
        &self,
        request: Request<StorefrontRequest>,
    ) -> Result<Response<StorefrontReply>, Status> {
        let grpc_timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let request_id = request.into_inner().request_id;
        self.received.lock().unwrap().push(Received {
            request_id,
            grpc_timeout,
        });
        Ok(Response::new(StorefrontReply {
            request_id,
            downstream_calls: 0,
        }))
    }
}

#[test]
fn storefront_sends_ids_and_deadline() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let gateway = RecordingGateway::default();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(StorefrontServer::new(gateway.clone()))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let plan = Plan::new(&[200.0], Duration::ZERO, Duration::from_millis(500)).unwrap();
    let options = RunOptions {
        seed: 8,
        timeout: Duration::from_millis(1500),
        ..RunOptions::default()
    };

    let outcome = spawn_run(plan, options, move || async move {
        Ok(StorefrontSender::new(connect(&url).await?, 8))
    })
    .unwrap()
    .join()
    .unwrap();
    let summary = &outcome.windows[0].summary;

    let received = gateway.received.lock().unwrap().clone();
    assert!(summary.sent > 0);
    assert_eq!(summary.ok, summary.sent);
    assert_eq!(received.len() as u64, summary.sent);

    // Ids count up from 0 in send order; HTTP/2 may reorder arrivals.
    let mut ids: Vec<u64> = received.iter().map(|request| request.request_id).collect();
    ids.sort_unstable();
    let expected: Vec<u64> = (0..summary.sent).collect();
    assert_eq!(ids, expected);

    // 1500 ms travels as the gRPC deadline; tonic writes it in
    // microseconds ("1500000u").
    for request in &received {
        assert_eq!(
            request.grpc_timeout.as_deref(),
            Some("1500000u"),
            "request {}",
            request.request_id
        );
    }
}
