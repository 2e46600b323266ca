//! How a run counts replies by status, drops at the in-flight cap, timeouts
//! and the warm-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use queuelab_loadgen::echo::spawn_echo_server;
use queuelab_loadgen::report::warnings_for;
use queuelab_loadgen::{EchoSender, Plan, RunOptions, connect, spawn_run};

fn options(seed: u64, max_in_flight: usize, timeout: Duration) -> RunOptions {
    RunOptions {
        seed,
        max_in_flight,
        timeout,
        ..RunOptions::default()
    }
}

/// Starts an Echo server on a runtime of its own and returns its URL with
/// the runtime, which must outlive the run.
fn echo_server() -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(spawn_echo_server()).unwrap();
    (runtime, format!("http://{address}"))
}

#[test]
fn replies_counted_by_status() {
    // The sender returns OK, UNAVAILABLE and RESOURCE_EXHAUSTED in turn, so
    // each status gets a third of the sends (±1).
    let calls = Arc::new(AtomicU64::new(0));
    let sender = {
        let calls = Arc::clone(&calls);
        move |_timeout: Duration| {
            let code = match calls.fetch_add(1, Ordering::Relaxed) % 3 {
                0 => tonic::Code::Ok,
                1 => tonic::Code::Unavailable,
                _ => tonic::Code::ResourceExhausted,
            };
            async move { code }
        }
    };
    let plan = Plan::new(&[300.0], Duration::ZERO, Duration::from_millis(500)).unwrap();

    let outcome = spawn_run(
        plan,
        options(3, 100, Duration::from_secs(1)),
        move || async move { Ok(sender) },
    )
    .unwrap()
    .join()
    .unwrap();
    let summary = &outcome.windows[0].summary;

    let third = summary.sent / 3;
    assert_eq!(summary.completed, summary.sent);
    assert!(summary.ok.abs_diff(third) <= 1, "ok {}", summary.ok);
    let unavailable = summary.errors_by_status["UNAVAILABLE"];
    assert!(
        unavailable.abs_diff(third) <= 1,
        "unavailable {unavailable}"
    );
    let exhausted = summary.errors_by_status["RESOURCE_EXHAUSTED"];
    assert!(
        exhausted.abs_diff(third) <= 1,
        "resource exhausted {exhausted}"
    );
    assert_eq!(summary.errors, unavailable + exhausted);
    assert!(!summary.target_kept_up);

    let warnings = warnings_for(
        &outcome.windows,
        100,
        Duration::from_secs(1),
        Duration::from_millis(1),
    );
    let expected = format!(
        "window 1 (300/s): the target did not keep up: {} replies were errors ({exhausted} RESOURCE_EXHAUSTED, {unavailable} UNAVAILABLE)",
        summary.errors
    );
    assert!(warnings.contains(&expected), "warnings: {warnings:?}");
}

#[test]
fn cap_drops_are_counted() {
    // Each reply takes 200 ms and at most 10 requests may be in flight, so
    // at most 10 × (1 s / 0.2 s + 1) = 60 requests go out in the 1 s window
    // while about 200 are due: the rest are dropped and counted.
    let (_server, url) = echo_server();
    let plan = Plan::new(&[200.0], Duration::ZERO, Duration::from_secs(1)).unwrap();

    let outcome = spawn_run(
        plan,
        options(9, 10, Duration::from_secs(2)),
        move || async move {
            Ok(EchoSender::new(
                connect(&url).await?,
                Duration::from_millis(200),
            ))
        },
    )
    .unwrap()
    .join()
    .unwrap();
    let summary = &outcome.windows[0].summary;

    assert!((10..=60).contains(&summary.sent), "sent {}", summary.sent);
    // About 200 due (σ ≈ 14); ±5σ.
    let due = summary.sent + summary.dropped_by_cap;
    assert!((130..=270).contains(&due), "due {due}");
    assert!(
        summary.dropped_by_cap >= 70,
        "dropped {}",
        summary.dropped_by_cap
    );
    assert!(!summary.target_kept_up);

    let warnings = warnings_for(
        &outcome.windows,
        10,
        Duration::from_secs(2),
        Duration::from_millis(1),
    );
    assert!(
        warnings
            .iter()
            .any(|warning| warning.contains("already in flight")),
        "warnings: {warnings:?}"
    );
}

#[test]
fn slow_replies_time_out() {
    // Replies take 1 s and the timeout is 100 ms, so no request succeeds.
    // The server may end a request with DEADLINE_EXCEEDED before the local
    // timeout fires, so both count.
    let (_server, url) = echo_server();
    let plan = Plan::new(&[100.0], Duration::ZERO, Duration::from_millis(500)).unwrap();

    let outcome = spawn_run(
        plan,
        options(4, 100, Duration::from_millis(100)),
        move || async move {
            Ok(EchoSender::new(
                connect(&url).await?,
                Duration::from_secs(1),
            ))
        },
    )
    .unwrap()
    .join()
    .unwrap();
    let summary = &outcome.windows[0].summary;

    let deadline_exceeded = summary
        .errors_by_status
        .get("DEADLINE_EXCEEDED")
        .copied()
        .unwrap_or(0);
    assert!(summary.sent > 0);
    assert_eq!(summary.ok, 0);
    assert_eq!(
        summary.timeouts + deadline_exceeded,
        summary.sent,
        "{summary:?}"
    );
    assert_eq!(summary.latency.p99_s, None);
}

#[test]
fn warmup_excluded_windows_per_rate() {
    let plan = Plan::new(
        &[200.0, 400.0],
        Duration::from_millis(300),
        Duration::from_millis(500),
    )
    .unwrap();
    let sender = |_timeout: Duration| async { tonic::Code::Ok };

    let outcome = spawn_run(
        plan,
        options(6, 100, Duration::from_secs(1)),
        move || async move { Ok(sender) },
    )
    .unwrap()
    .join()
    .unwrap();

    // Two windows, none for the warm-up, starting after it.
    assert_eq!(outcome.windows.len(), 2);
    let first = &outcome.windows[0].summary;
    let second = &outcome.windows[1].summary;
    assert_eq!(first.start_offset_s, 0.3);
    assert_eq!(second.start_offset_s, 0.8);
    assert_eq!(first.target_rate_per_s, 200.0);
    assert_eq!(second.target_rate_per_s, 400.0);

    // Expected counts 100 and 200 (σ 10 and 14); ±5σ.
    assert!(
        (50..=150).contains(&first.sent),
        "first sent {}",
        first.sent
    );
    assert!(
        (130..=270).contains(&second.sent),
        "second sent {}",
        second.sent
    );
}

#[test]
fn unreachable_target_fails_fast() {
    // Nothing listens on a port that was just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let plan = Plan::new(&[10.0], Duration::ZERO, Duration::from_secs(1)).unwrap();

    let result = spawn_run(plan, RunOptions::default(), move || async move {
        Ok(EchoSender::new(connect(&url).await?, Duration::ZERO))
    })
    .unwrap()
    .join();

    let error = result.expect_err("connecting to a closed port must fail");
    let message = error.to_string();
    assert!(message.contains("could not connect"), "message: {message}");
    assert!(message.contains(&port.to_string()), "message: {message}");
}

#[test]
fn stop_shortens_window() {
    // Two planned 10 s windows, stopped about 1 s into the first: one
    // window comes back, as long as the run lasted.
    let plan = Plan::new(&[200.0, 400.0], Duration::ZERO, Duration::from_secs(10)).unwrap();
    let sender = |_timeout: Duration| async { tonic::Code::Ok };
    let handle = spawn_run(
        plan,
        options(12, 100, Duration::from_secs(1)),
        move || async move { Ok(sender) },
    )
    .unwrap();

    std::thread::sleep(Duration::from_secs(1));
    handle.stopper().stop();
    let outcome = handle.join().unwrap();

    let stopped_after = outcome.stopped_after.expect("the run reports its stop");
    assert_eq!(outcome.windows.len(), 1);
    let summary = &outcome.windows[0].summary;
    assert_eq!(summary.duration_s, stopped_after.as_secs_f64());
    assert!(summary.duration_s < 10.0, "window {} s", summary.duration_s);
    // The window's rate counts over its shortened length: λ = 200/s within
    // 5σ of a Poisson count over at least 0.9 s.
    let expected = 200.0 * summary.duration_s;
    let tolerance = 5.0 * expected.sqrt();
    assert!(
        (summary.sent as f64 - expected).abs() <= tolerance,
        "sent {} in {} s",
        summary.sent,
        summary.duration_s
    );
}
