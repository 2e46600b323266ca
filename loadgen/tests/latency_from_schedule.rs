//! End-to-end latency counts from each request's scheduled send time, so
//! requests held back, by the server or by the generator itself, show the
//! time they were held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use queuelab_loadgen::echo::proto::echo_server::{Echo, EchoServer};
use queuelab_loadgen::echo::proto::{EchoReply, EchoRequest};
use queuelab_loadgen::{EchoSender, Plan, RunOptions, connect, spawn_run};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// An Echo server that delays every request arriving in
/// `[stall_start, stall_end)` until `stall_end`, and replies to others at once.
#[derive(Clone)]
struct StallingEcho {
    stall_start: Instant,
    stall_end: Instant,
}

#[tonic::async_trait]
impl Echo for StallingEcho {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let now = Instant::now();
        if now >= self.stall_start && now < self.stall_end {
            tokio::time::sleep_until(self.stall_end.into()).await;
        }
        Ok(Response::new(EchoReply {
            payload: request.into_inner().payload,
        }))
    }
}

fn options(seed: u64) -> RunOptions {
    RunOptions {
        seed,
        max_in_flight: 10_000,
        timeout: Duration::from_secs(5),
        ..RunOptions::default()
    }
}

#[test]
fn server_stall_shows_in_latency() {
    const RATE_PER_S: f64 = 500.0;
    const STALL: Duration = Duration::from_millis(300);

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stall_start = Instant::now() + Duration::from_millis(400);
    let service = StallingEcho {
        stall_start,
        stall_end: stall_start + STALL,
    };
    let listener = server_runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    server_runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(EchoServer::new(service))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );

    let plan = Plan::new(&[RATE_PER_S], Duration::ZERO, Duration::from_millis(1200)).unwrap();
    let handle = spawn_run(plan, options(11), move || async move {
        Ok(EchoSender::new(connect(&url).await?, Duration::ZERO))
    })
    .unwrap();
    let outcome = handle.join().unwrap();
    let window = &outcome.windows[0];
    let summary = &window.summary;

    // Open loop: about λ × 1.2 s = 600 requests were sent, the stall
    // notwithstanding (Poisson standard deviation √600 ≈ 24.5; ±5σ).
    assert!((478..=722).contains(&summary.sent), "sent {}", summary.sent);
    assert_eq!(summary.dropped_by_cap, 0);
    assert_eq!(summary.ok, summary.sent);

    // The first request arriving after the stall starts waits nearly the
    // whole 300 ms: the mean gap is 2 ms, so it arrives within 20 ms of the
    // start with probability 1 − e^(−10). The upper bound leaves 200 ms for
    // a busy machine.
    let max_s = summary.latency.max_s.unwrap();
    assert!((0.280..=0.500).contains(&max_s), "max latency {max_s} s");

    // A request arriving at t into the stall waits 300 ms − t, so those above
    // 100 ms are the ones arriving in its first 200 ms: λ × 0.2 s = 100
    // expected (σ = 10). The bounds allow ±4σ plus 40 for requests a busy
    // machine delays past the 100 ms mark.
    let above_100_ms = window
        .latency_ns
        .iter_recorded()
        .filter(|bucket| bucket.value_iterated_to() > 100_000_000)
        .map(|bucket| bucket.count_at_value())
        .sum::<u64>();
    assert!(
        (60..=180).contains(&above_100_ms),
        "{above_100_ms} latencies above 100 ms"
    );
}

#[test]
fn generator_stall_counts_from_schedule() {
    const RATE_PER_S: f64 = 1000.0;
    const STALL: Duration = Duration::from_millis(300);
    const STALL_AT_SEND: u64 = 200;

    // A sender whose 200th call blocks the generator's thread for 300 ms,
    // as a stalled client would, and whose replies are immediate. Requests
    // scheduled during the block go out late, in a burst, after it.
    let calls = Arc::new(AtomicU64::new(0));
    let sender = {
        let calls = Arc::clone(&calls);
        move |_timeout: Duration| {
            if calls.fetch_add(1, Ordering::Relaxed) + 1 == STALL_AT_SEND {
                std::thread::sleep(STALL);
            }
            async { tonic::Code::Ok }
        }
    };

    let plan = Plan::new(&[RATE_PER_S], Duration::ZERO, Duration::from_secs(1)).unwrap();
    let handle = spawn_run(plan, options(5), move || async move { Ok(sender) }).unwrap();
    let outcome = handle.join().unwrap();
    let window = &outcome.windows[0];
    let summary = &window.summary;

    // Measured from the actual send, every latency would be about 0. From
    // the schedule, the request that blocked waits the full 300 ms (its
    // reply is recorded after the block), with 200 ms of slack.
    let max_s = summary.latency.max_s.unwrap();
    assert!((0.300..=0.500).contains(&max_s), "max latency {max_s} s");

    // Requests scheduled in the first 200 ms of the block wait over 100 ms:
    // λ × 0.2 s = 200 expected (σ ≈ 14); ±4σ, plus 60 above for a busy
    // machine that lengthens the block.
    let above_100_ms = window
        .latency_ns
        .iter_recorded()
        .filter(|bucket| bucket.value_iterated_to() > 100_000_000)
        .map(|bucket| bucket.count_at_value())
        .sum::<u64>();
    assert!(
        (144..=316).contains(&above_100_ms),
        "{above_100_ms} latencies above 100 ms"
    );

    // The same requests were sent late: about 300 of about 1000 sends, so
    // the send-lateness p99 lies deep in the block, and the window reports
    // that the generator fell behind.
    let lateness_p99_s = summary.send_lateness_p99_s.unwrap();
    assert!(
        lateness_p99_s > 0.200,
        "send-lateness p99 {lateness_p99_s} s"
    );
    assert!(!summary.generator_kept_up);
}
