//! Measures how closely realized service times follow the drawn ones.
//!
//! Runs the six reference stations in one process, each fed with its own
//! Poisson stream at its reference arrival rate (1000/s times the visit
//! ratio: 1000, 300, 400, 300, 300 and 960 per second), for a bounded time.
//! Downstream calls are not made: this measures the holding machinery only.
//! Prints the error of realized minus drawn service time and the CPU time of
//! the six station threads and of the six threads that deliver their
//! replies, read from /proc/self/task (Linux only).
//!
//! Run: `cargo bench -p queuelab-station --bench hold_accuracy -- [SECONDS]`
//! (default 10 s, at most 120 s).

use std::time::{Duration, Instant};

use queuelab_station::{ServiceTimeDistribution, Station, StationSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp};

/// Reference stations: name, servers c, service rate μ per second, arrival
/// rate λ per second.
const STATIONS: [(&str, u32, f64, f64); 6] = [
    ("api-gateway", 3, 5000.0, 1000.0),
    ("user", 2, 2000.0, 300.0),
    ("product", 2, 1500.0, 400.0),
    ("order", 2, 1000.0, 300.0),
    ("payment", 1, 800.0, 300.0),
    ("database", 1, 3000.0, 960.0),
];

const MAX_SECONDS: u64 = 120;

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(10)
        .min(MAX_SECONDS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("failed to build the tokio runtime");
    runtime.block_on(run(Duration::from_secs(seconds)));
}

async fn run(length: Duration) {
    let mut feeders = Vec::new();
    // The stations are kept until the CPU time is read: a station's thread
    // ends with its last handle.
    let mut stations = Vec::new();
    let cpu_before = thread_cpu("station-");
    let replies_cpu_before = thread_cpu("replies-");
    let started = Instant::now();

    for (index, (name, servers, rate, arrival_rate)) in STATIONS.into_iter().enumerate() {
        let spec = StationSpec {
            name: name.to_owned(),
            servers,
            distribution: ServiceTimeDistribution::Exponential { mean_s: 1.0 / rate },
            capacity: None,
            calls: Vec::new(),
            seed: 11 + index as u64,
        };
        let station = Station::start(spec).expect("reference station spec is valid");
        stations.push(station.clone());
        feeders.push(tokio::spawn(feed(
            station,
            arrival_rate,
            length,
            101 + index as u64,
        )));
    }

    let mut errors_ns: Vec<i64> = Vec::new();
    for feeder in feeders {
        errors_ns.extend(feeder.await.expect("feeder task panicked"));
    }
    let elapsed = started.elapsed();
    let cpu = thread_cpu("station-").saturating_sub(cpu_before);
    let replies_cpu = thread_cpu("replies-").saturating_sub(replies_cpu_before);
    drop(stations);

    errors_ns.sort_unstable();
    let count = errors_ns.len();
    let mean_ns = errors_ns.iter().sum::<i64>() as f64 / count as f64;
    let quantile = |q: f64| errors_ns[((count - 1) as f64 * q) as usize];
    println!("holds: {count} in {:.1} s", elapsed.as_secs_f64());
    println!("hold error (realized - drawn), µs:");
    println!(
        "  mean {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  min {:.2}  max {:.2}",
        mean_ns / 1e3,
        quantile(0.5) as f64 / 1e3,
        quantile(0.9) as f64 / 1e3,
        quantile(0.99) as f64 / 1e3,
        quantile(0.999) as f64 / 1e3,
        errors_ns[0] as f64 / 1e3,
        errors_ns[count - 1] as f64 / 1e3,
    );
    println!(
        "station threads CPU: {:.2} s = {:.1} % of one core",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
    println!(
        "reply threads CPU: {:.2} s = {:.1} % of one core",
        replies_cpu.as_secs_f64(),
        100.0 * replies_cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
}

/// Sends Poisson arrivals to `station` for `length` and returns the hold
/// error of every served request, in nanoseconds.
async fn feed(station: Station, arrival_rate: f64, length: Duration, seed: u64) -> Vec<i64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let gaps = Exp::new(arrival_rate).expect("arrival rate is positive");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let mut next = start;

    while next < start + length {
        next += Duration::from_secs_f64(gaps.sample(&mut rng));
        tokio::time::sleep_until(next.into()).await;
        let station = station.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            // The intended arrival time is now, whatever the timer's lateness.
            if let Ok(served) = station.visit(Instant::now(), None).await {
                let error = served.service.as_nanos() as i64 - served.drawn.as_nanos() as i64;
                let _ = sender.send(error);
            }
        });
    }
    drop(sender);

    let mut errors = Vec::new();
    while let Some(error) = receiver.recv().await {
        errors.push(error);
    }
    errors
}

/// Sums user plus system CPU time of this process's threads whose name
/// starts with `prefix`, from /proc/self/task/*/stat (clock ticks of 10 ms).
fn thread_cpu(prefix: &str) -> Duration {
    let ticks_per_s = 100.0;
    let mut ticks = 0_u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    Duration::from_secs_f64(ticks as f64 / ticks_per_s)
}
