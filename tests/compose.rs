//! The container deployment end to end: the image built from the test's own
//! `queuelab` binary, the stack of docker-compose.yml, three experiments
//! (healthy mesh, payment stopped, payment restarted) and the reports they
//! write.
//!
//! The test needs Docker, the base image script's tools and a few minutes, so
//! it is ignored by default. `.ci/run` runs it with
//! `cargo test --workspace --test compose -- --ignored` when `docker info`
//! succeeds; without Docker it prints why it skips and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The six stations of the reference architecture.
const STATIONS: [&str; 6] = [
    "api-gateway",
    "user",
    "product",
    "order",
    "payment",
    "database",
];

/// External arrival rate of every run, requests per second: low enough for a
/// busy 2-core machine running eight containers.
const RATE_PER_S: f64 = 100.0;

/// Root of the repository, where docker-compose.yml lives.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` to completion, killing it after `timeout`.
fn run_bounded(command: &mut Command, timeout: Duration) -> Output {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start {description}: {error}"));

    // The pipes are drained on threads so that a chatty command cannot block
    // on a full pipe while this thread waits for it.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stdout_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
        text
    });

    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child works") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} timed out after {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Output {
        status,
        stdout: stdout_reader.join().unwrap_or_default(),
        stderr: stderr_reader.join().unwrap_or_default(),
    }
}

/// Runs `command` and panics with its output unless it succeeds.
fn run_checked(command: &mut Command, timeout: Duration) -> String {
    let description = format!("{command:?}");
    let output = run_bounded(command, timeout);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{description} failed with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// True when a Docker engine answers.
fn docker_works() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The Compose command: Debian's docker-compose 1.29, else the v2 plugin.
fn compose_program() -> Option<Vec<String>> {
    let candidates = [vec!["docker-compose"], vec!["docker", "compose"]];
    candidates.into_iter().find_map(|words| {
        let works = Command::new(words[0])
            .args(&words[1..])
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        works.then(|| words.into_iter().map(str::to_owned).collect())
    })
}

/// Returns the output of `id FLAG` (the user or group id of this process).
fn id(flag: &str) -> String {
    let output = Command::new("id").arg(flag).output().expect("id runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A Compose project of this test. Dropping it removes its containers,
/// network, image and results, also when an assertion failed.
struct Stack {
    compose: Vec<String>,
    project: String,
    image: String,
    results: PathBuf,
}

impl Stack {
    fn new(compose: Vec<String>) -> Self {
        // The process id makes the project, and so every container and
        // network name, unique to this run.
        let project = format!("queuelab-compose-test-{}", std::process::id());
        let results = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&project);
        std::fs::create_dir_all(&results).expect("the results folder can be created");
        Self {
            compose,
            image: format!("{project}:latest"),
            project,
            results,
        }
    }

    /// Builds a Compose command for this project, its image and its results folder.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args([
                "--project-name",
                &self.project,
                "--file",
                "docker-compose.yml",
            ])
            .args(args)
            .current_dir(repository())
            .env("QUEUELAB_IMAGE", &self.image)
            .env("QUEUELAB_RESULTS", &self.results)
            .env("QUEUELAB_USER", format!("{}:{}", id("-u"), id("-g")))
            .env("RUST_LOG", "warn");
        command
    }

    /// Waits until the container of `service` reports healthy.
    fn await_healthy(&self, service: &str, timeout: Duration) {
        let container = run_checked(
            &mut self.command(&["ps", "-q", service]),
            Duration::from_secs(30),
        );
        let container = container.trim();
        assert!(!container.is_empty(), "service {service} has no container");

        let deadline = Instant::now() + timeout;
        loop {
            let status = run_checked(
                Command::new("docker").args([
                    "inspect",
                    "-f",
                    "{{.State.Health.Status}}",
                    container,
                ]),
                Duration::from_secs(30),
            );
            if status.trim() == "healthy" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service {service} is still {} after {} s",
                status.trim(),
                timeout.as_secs()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Runs one experiment with the loadgen job and returns its report.
    /// `--no-deps` keeps Compose from restarting a station this test stopped.
    fn experiment(&self, name: &str, duration_s: u64, warmup_s: u64) -> Value {
        let out = format!("results/{name}");
        let rate = RATE_PER_S.to_string();
        let duration = format!("{duration_s}s");
        let warmup = format!("{warmup_s}s");
        run_checked(
            &mut self.command(&[
                "run",
                "--rm",
                "--no-deps",
                "loadgen",
                "experiment",
                "--gateway",
                "api-gateway:50051",
                "--analysis",
                "analysis:50060",
                "--topology",
                "/etc/queuelab/topology.toml",
                "--rate",
                &rate,
                "--duration",
                &duration,
                "--warmup",
                &warmup,
                "--out",
                &out,
            ]),
            Duration::from_secs(duration_s + warmup_s + 90),
        );
        read_report(&self.results.join(name).join("report.json"))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let down = run_bounded(
            &mut self.command(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]),
            Duration::from_secs(120),
        );
        if !down.status.success() {
            eprintln!(
                "warning: compose down failed for project {}: {}",
                self.project,
                String::from_utf8_lossy(&down.stderr)
            );
        }
        let _ = run_bounded(
            Command::new("docker").args(["image", "rm", "--force", &self.image]),
            Duration::from_secs(60),
        );
        let _ = std::fs::remove_dir_all(&self.results);
    }
}

fn read_report(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn count(report: &Value, field: &str) -> u64 {
    report["counts"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no counts.{field}: {}", report["counts"]))
}

/// Returns the status of `station` in the report: "measured" or "missing".
fn station_status(report: &Value, station: &str) -> String {
    let stations = report["stations"]
        .as_array()
        .expect("report lists stations");
    let entry = stations
        .iter()
        .find(|entry| entry["name"] == station)
        .unwrap_or_else(|| panic!("report has no station {station}"));
    entry["status"]
        .as_str()
        .expect("station status is text")
        .to_owned()
}

/// Returns the station's completed visits in the measured window.
fn station_completions(report: &Value, station: &str) -> u64 {
    let stations = report["stations"]
        .as_array()
        .expect("report lists stations");
    let entry = stations
        .iter()
        .find(|entry| entry["name"] == station)
        .unwrap_or_else(|| panic!("report has no station {station}"));
    entry["counts"]["completions"].as_u64().unwrap_or(0)
}

/// Returns the report's call edges as (from, to) with their calls and failed calls.
fn call_edges(report: &Value) -> Vec<((String, String), (u64, u64))> {
    let edges = report["transport_overhead"]["calls"]
        .as_array()
        .expect("report lists call edges");
    edges
        .iter()
        .map(|edge| {
            let from = edge["from"].as_str().expect("edge has a caller").to_owned();
            let to = edge["to"].as_str().expect("edge has a callee").to_owned();
            let calls = edge["calls"].as_u64().expect("edge counts its calls");
            let failed = edge["failed"].as_u64().expect("edge counts its failures");
            ((from, to), (calls, failed))
        })
        .collect()
}

/// Asserts that the edge `from` -> `to` made calls and that at most 1 % failed.
fn assert_edge_succeeds(report: &Value, from: &str, to: &str) {
    let edges = call_edges(report);
    let (calls, failed) = edges
        .iter()
        .find(|((caller, callee), _)| caller == from && callee == to)
        .map(|(_, counts)| *counts)
        .unwrap_or_else(|| panic!("report has no call edge {from} -> {to}"));
    assert!(calls > 0, "{from} -> {to} made no calls");
    assert!(
        failed * 100 <= calls,
        "{failed} of {calls} calls {from} -> {to} failed"
    );
}

#[test]
#[ignore = "needs Docker and takes a few minutes; .ci/run runs it when `docker info` succeeds"]
fn compose_stack_survives_payment_outage() {
    if !docker_works() {
        eprintln!("skipped: `docker info` failed, so no container test can run");
        return;
    }
    let Some(compose) = compose_program() else {
        eprintln!("skipped: neither docker-compose nor `docker compose` is installed");
        return;
    };
    let stack = Stack::new(compose);

    run_checked(
        Command::new(repository().join("deploy/build-images.sh"))
            .args([
                "--profile",
                "debug",
                "--binary",
                env!("CARGO_BIN_EXE_queuelab"),
            ])
            .args(["--tag", &stack.image])
            .current_dir(repository()),
        Duration::from_secs(600),
    );
    run_checked(
        &mut stack.command(&["up", "--detach", "analysis"]),
        Duration::from_secs(180),
    );
    stack.await_healthy("analysis", Duration::from_secs(60));

    // Run 1, all stations up: 20 s at 100/s sends about 2000 requests
    // (Poisson, standard deviation about 45).
    let healthy = stack.experiment("healthy", 20, 3);
    let sent = count(&healthy, "sent");
    assert!(
        (1700..=2300).contains(&sent),
        "sent {sent} requests in 20 s at 100/s"
    );
    let completed = count(&healthy, "completed");
    assert!(
        completed * 100 >= sent * 95,
        "only {completed} of {sent} requests completed"
    );
    for station in STATIONS {
        assert_eq!(
            station_status(&healthy, station),
            "measured",
            "station {station}"
        );
        assert!(
            station_completions(&healthy, station) > 0,
            "station {station} completed no visit"
        );
    }
    let all_edges = [
        ("api-gateway", "user"),
        ("api-gateway", "product"),
        ("api-gateway", "order"),
        ("user", "database"),
        ("product", "database"),
        ("order", "payment"),
        ("order", "database"),
        ("payment", "database"),
    ];
    for (from, to) in all_edges {
        assert_edge_succeeds(&healthy, from, to);
    }

    // Run 2, payment stopped: every order calls payment, so the orders (30 %
    // of requests at the gateway) fail and the user and product requests
    // still succeed.
    run_checked(
        &mut stack.command(&["stop", "--timeout", "5", "payment"]),
        Duration::from_secs(60),
    );
    let outage = stack.experiment("payment-stopped", 10, 2);
    assert_eq!(station_status(&outage, "payment"), "missing");
    for station in ["api-gateway", "user", "product", "order", "database"] {
        assert_eq!(
            station_status(&outage, station),
            "measured",
            "station {station}"
        );
    }
    let sent = count(&outage, "sent");
    let completed = count(&outage, "completed");
    let failed = sent - completed;
    let failed_share = failed as f64 / sent as f64;
    assert!(
        (0.15..=0.45).contains(&failed_share),
        "{failed} of {sent} requests failed; about 30 % (the orders) should"
    );
    for (from, to) in [
        ("api-gateway", "user"),
        ("api-gateway", "product"),
        ("user", "database"),
        ("product", "database"),
    ] {
        assert_edge_succeeds(&outage, from, to);
    }
    let errors = outage["counts"]["errors"]
        .as_object()
        .expect("counts.errors is a map");
    // NOTE: a stopped container's name gets no DNS answer on the internal
    // network, so a caller may wait out its 2 s call timeout on the lookup
    // (DEADLINE_EXCEEDED) instead of failing at once with UNAVAILABLE.
    for (status, count) in errors {
        assert!(
            status == "UNAVAILABLE" || status == "DEADLINE_EXCEEDED",
            "{count} requests failed with {status}, not a status of an unreachable peer"
        );
    }

    // Run 3, payment restarted: the callers reconnect and every station is
    // measured again.
    run_checked(
        &mut stack.command(&["start", "payment"]),
        Duration::from_secs(60),
    );
    stack.await_healthy("payment", Duration::from_secs(60));
    let recovered = stack.experiment("payment-restarted", 8, 3);
    for station in STATIONS {
        assert_eq!(
            station_status(&recovered, station),
            "measured",
            "station {station}"
        );
    }
    let sent = count(&recovered, "sent");
    let completed = count(&recovered, "completed");
    assert!(
        completed * 100 >= sent * 95,
        "only {completed} of {sent} requests completed after the restart"
    );
    assert_edge_succeeds(&recovered, "order", "payment");
}

#[test]
fn compose_files_pass_config_check() {
    let Some(compose) = compose_program() else {
        eprintln!("skipped: neither docker-compose nor `docker compose` is installed");
        return;
    };
    let variants: [&[&str]; 3] = [
        &["--file", "docker-compose.yml"],
        &["--file", "docker-compose.yml", "--profile", "observability"],
        &[
            "--file",
            "docker-compose.yml",
            "--file",
            "deploy/compose.otel.yml",
            "--profile",
            "observability",
        ],
    ];
    for files in variants {
        let mut command = Command::new(&compose[0]);
        command
            .args(&compose[1..])
            .args(files)
            .args(["config", "--quiet"])
            .current_dir(repository());
        run_checked(&mut command, Duration::from_secs(60));
    }
}
