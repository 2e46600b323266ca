//! The `loadgen` binary: exit statuses for bad input, and the files and
//! JSON of a short run against the Echo server.

use std::process::{Command, Output};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use queuelab_loadgen::echo::spawn_echo_server;

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("the loadgen binary runs")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn zero_rate_exits_2() {
    let output = loadgen(&["--rate", "0"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("invalid rate 0"), "stderr: {stderr}");
}

#[test]
fn negative_rate_in_list_exits_2() {
    let output = loadgen(&["--rate", "500,-1"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("invalid rate -1"), "stderr: {stderr}");
}

#[test]
fn duration_without_unit_exits_2() {
    let output = loadgen(&["--duration", "30"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("invalid duration \"30\""),
        "stderr: {stderr}"
    );
}

#[test]
fn zero_max_in_flight_exits_2() {
    let output = loadgen(&["--max-in-flight", "0"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("max-in-flight 0"), "stderr: {stderr}");
}

#[test]
fn non_http_target_exits_2() {
    let output = loadgen(&["--target", "127.0.0.1:50051"]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("invalid target"), "stderr: {stderr}");
}

#[test]
fn unusable_out_dir_exits_2_before_run() {
    // A directory cannot be created under a regular file. The target is
    // unreachable too, so reaching the connect step would exit 1 instead.
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = file.path().join("results");

    let output = loadgen(&[
        "--target",
        "http://127.0.0.1:9",
        "--out",
        out.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("invalid --out directory"),
        "stderr: {stderr}"
    );
}

#[test]
fn unreachable_target_exits_1() {
    // Nothing listens on a port that was just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("http://127.0.0.1:{port}");

    let output = loadgen(&["--target", &target, "--duration", "1s", "--warmup", "0s"]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("could not connect"), "stderr: {stderr}");
    assert!(stderr.contains(&target), "stderr: {stderr}");
}

#[test]
fn echo_run_writes_results() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(spawn_echo_server()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let target = format!("http://{address}");

    let output = loadgen(&[
        "--api",
        "echo",
        "--target",
        &target,
        "--rate",
        "100,200",
        "--step-duration",
        "500ms",
        "--warmup",
        "200ms",
        "--seed",
        "42",
        "--json",
        "--out",
        out.path().to_str().unwrap(),
    ]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        stderr_of(&output)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["seed"], 42);
    assert_eq!(printed["method"], "queuelab.bench.v1.Echo/Echo");
    let windows = printed["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["target_rate_per_s"], 100.0);
    assert_eq!(windows[1]["target_rate_per_s"], 200.0);
    assert_eq!(windows[1]["start_offset_s"], 0.7);
    for key in [
        "sent",
        "completed",
        "errors_by_status",
        "achieved_rate_per_s",
        "send_lateness_p99_s",
        "dropped_by_cap",
    ] {
        assert!(windows[0].get(key).is_some(), "missing key {key}");
    }
    for key in ["mean_s", "p50_s", "p90_s", "p99_s", "p99_9_s", "max_s"] {
        assert!(
            windows[0]["latency"].get(key).is_some(),
            "missing key {key}"
        );
    }

    let summary = std::fs::read_to_string(out.path().join("summary.json")).unwrap();
    let written: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(written, printed);

    // An interval log: StartTime and BaseTime headers, then one tagged
    // histogram line per window.
    let log = std::fs::read_to_string(out.path().join("latency.hlog")).unwrap();
    assert!(log.contains("#[StartTime: "), "log: {log}");
    assert!(log.contains("#[BaseTime: "), "log: {log}");
    let intervals: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("Tag="))
        .collect();
    assert_eq!(intervals.len(), 2, "log: {log}");
    assert!(
        intervals[0].starts_with("Tag=rate-100,0.200,0.500,"),
        "line: {}",
        intervals[0]
    );
    assert!(
        intervals[1].starts_with("Tag=rate-200,0.700,0.500,"),
        "line: {}",
        intervals[1]
    );
    assert!(out.path().join("send-lateness.hlog").exists());

    // hdrhistogram's own log reader decodes each window's histogram, with
    // one value per OK reply.
    let mut histograms = Vec::new();
    for entry in IntervalLogIterator::new(log.as_bytes()) {
        if let LogEntry::Interval(interval) = entry.unwrap() {
            let compressed = base64_decode(interval.encoded_histogram());
            let histogram: Histogram<u64> = Deserializer::new()
                .deserialize(&mut compressed.as_slice())
                .unwrap();
            histograms.push(histogram);
        }
    }
    assert_eq!(histograms.len(), 2);
    assert_eq!(histograms[0].len(), windows[0]["ok"].as_u64().unwrap());
    assert_eq!(histograms[1].len(), windows[1]["ok"].as_u64().unwrap());
}

/// Decodes standard base64 (with padding), the encoding of histograms in an
/// interval log.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0_u32;
    let mut bits = 0;

    for symbol in text.bytes().filter(|&symbol| symbol != b'=') {
        let value = ALPHABET
            .iter()
            .position(|&letter| letter == symbol)
            .expect("base64 symbol") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    bytes
}

#[test]
fn interrupt_reports_partial_window() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let address = runtime.block_on(spawn_echo_server()).unwrap();
    let target = format!("http://{address}");
    let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "--api",
            "echo",
            "--target",
            &target,
            "--rate",
            "100",
            "--duration",
            "30s",
            "--warmup",
            "0s",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill only sends SIGINT to the child this test started.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0);
    let output = child.wait_with_output().unwrap();

    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        stderr_of(&output)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stopped_after_s = printed["stopped_after_s"].as_f64().unwrap();
    assert!(stopped_after_s < 30.0, "stopped after {stopped_after_s} s");
    assert_eq!(
        printed["windows"][0]["duration_s"].as_f64().unwrap(),
        stopped_after_s
    );
    let warnings = printed["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|warning| warning.as_str().unwrap().contains("stopped after")),
        "warnings: {warnings:?}"
    );
}
