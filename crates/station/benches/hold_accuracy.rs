//! Measures how closely realized service times follow the drawn ones.
//!
//! Runs the six reference stations in one process for a bounded time. One
//! pacing thread sends the arrivals: Poisson at 3260 per second in all, each
//! going to a station with probability proportional to its reference
//! arrival rate (1000/s times the visit ratio: 1000, 300, 400, 300, 300 and
//! 960 per second), so that each station receives its own Poisson stream. Each
//! arrival becomes a visit on a single-threaded runtime that stands for the
//! request handlers of a service. Downstream calls are not made: this
//! measures the queueing and holding machinery only.
//!
//! Prints the error of realized minus drawn service time and the CPU time of
//! the six station threads (each station's own runtime, which takes the
//! arrivals, runs the queue, times the holds and wakes the handlers), read
//! from /proc/self/task (Linux only). With `--handover-only`, each arrival
//! goes to a station thread and straight back, with no queue and no hold:
//! the CPU that takes is the cost of handing requests to a thread of their
//! own, and the rest of a full run's CPU is the queueing and timing.
//!
//! Run: `cargo bench -p queuelab-station --bench hold_accuracy --
//! [SECONDS] [--handover-only] [--hold-error-p99=DURATION]` (default 10 s,
//! at most 120 s; the target defaults to the stations' 35 µs).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use queuelab_station::launch::service_runtime;
use queuelab_station::priority::raise_thread_priority;
use queuelab_station::station::DEFAULT_HOLD_ERROR_P99;
use queuelab_station::{ServiceTimeDistribution, Station, StationSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp, weighted::WeightedIndex};
use tokio::runtime::Handle;

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
    let mut seconds = 10;
    let mut handover_only = false;
    let mut target = DEFAULT_HOLD_ERROR_P99;
    for arg in std::env::args().skip(1) {
        if arg == "--handover-only" {
            handover_only = true;
        } else if let Some(value) = arg.strip_prefix("--hold-error-p99=") {
            let seconds = queuelab_topology::parse_duration_s(value)
                .unwrap_or_else(|error| panic!("--hold-error-p99: {error}"));
            target = Duration::from_secs_f64(seconds);
        } else if let Ok(value) = arg.parse::<u64>() {
            seconds = value.min(MAX_SECONDS);
        }
    }
    let length = Duration::from_secs(seconds);
    if handover_only {
        measure_handover(length);
        return;
    }

    let stations: Vec<Station> = STATIONS
        .into_iter()
        .enumerate()
        .map(|(index, (name, servers, rate, _))| {
            let spec = StationSpec {
                name: name.to_owned(),
                servers,
                distribution: ServiceTimeDistribution::Exponential { mean_s: 1.0 / rate },
                capacity: None,
                calls: Vec::new(),
                seed: 11 + index as u64,
                hold_error_p99: target,
            };
            Station::start(spec).expect("reference station spec is valid")
        })
        .collect();
    let handlers = start_handler_runtime();

    let cpu_before = thread_cpu("station-");
    let started = Instant::now();
    let mut errors_ns = feed(&stations, &handlers, length);
    let elapsed = started.elapsed();
    let cpu = thread_cpu("station-").saturating_sub(cpu_before);

    println!(
        "holds: {} in {:.1} s",
        errors_ns.len(),
        elapsed.as_secs_f64()
    );
    print_errors(&mut errors_ns);
    println!(
        "station threads CPU: {:.2} s = {:.1} % of one core",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
}

/// Measures the hand-over alone: each arrival goes to a single-threaded
/// runtime on a `station-` thread, as a visit does, and comes straight back
/// to the handler, without queueing or holding.
fn measure_handover(length: Duration) {
    let runtimes: Vec<Handle> = STATIONS
        .iter()
        .map(|(name, ..)| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("failed to build a station runtime");
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name(format!("station-{name}"))
                .spawn(move || {
                    raise_thread_priority();
                    runtime.block_on(std::future::pending::<()>())
                })
                .expect("failed to start a station thread");
            handle
        })
        .collect();
    let handlers = start_handler_runtime();

    let cpu_before = thread_cpu("station-");
    let started = Instant::now();
    let count = pace(length, |index| {
        let station = runtimes[index].clone();
        handlers.spawn(async move {
            let (reply, receiver) = tokio::sync::oneshot::channel();
            drop(station.spawn(async move {
                let _ = reply.send(());
            }));
            let _ = receiver.await;
        });
    });
    let elapsed = started.elapsed();
    let cpu = thread_cpu("station-").saturating_sub(cpu_before);
    println!("hand-overs: {count} in {:.1} s", elapsed.as_secs_f64());
    println!(
        "station threads CPU: {:.2} s = {:.1} % of one core",
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
}

/// Calls `arrive` with a station index at Poisson instants for `length`
/// and returns how many arrivals there were.
fn pace(length: Duration, mut arrive: impl FnMut(usize)) -> u64 {
    let total_rate: f64 = STATIONS.iter().map(|station| station.3).sum();
    let gaps = Exp::new(total_rate).expect("arrival rate is positive");
    let choose = WeightedIndex::new(STATIONS.iter().map(|station| station.3))
        .expect("arrival rates are positive");
    let mut rng = StdRng::seed_from_u64(101);

    let start = Instant::now();
    let mut next = start;
    let mut count = 0;
    while next < start + length {
        next += Duration::from_secs_f64(gaps.sample(&mut rng));
        if let Some(gap) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(gap);
        }
        arrive(choose.sample(&mut rng));
        count += 1;
    }
    count
}

/// Starts the runtime that stands for the services' request handlers: one
/// thread, as a service has, running each visit.
fn start_handler_runtime() -> Handle {
    let runtime = service_runtime().expect("failed to build the handler runtime");
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("handlers".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .expect("failed to start the handler thread");
    handle
}

fn print_errors(errors_ns: &mut [i64]) {
    errors_ns.sort_unstable();
    let count = errors_ns.len();
    let mean_ns = errors_ns.iter().sum::<i64>() as f64 / count as f64;
    let quantile = |q: f64| errors_ns[((count - 1) as f64 * q) as usize] as f64 / 1e3;
    println!("hold error (realized - drawn), µs:");
    println!(
        "  mean {:.2}  p1 {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        mean_ns / 1e3,
        quantile(0.01),
        quantile(0.5),
        quantile(0.9),
        quantile(0.99),
        quantile(0.999),
        quantile(1.0),
    );
}

/// Sends Poisson arrivals to the stations for `length`, each as a visit
/// run on the `handlers` runtime, waits for every visit to end, and returns
/// the hold error of each, in nanoseconds.
fn feed(stations: &[Station], handlers: &Handle, length: Duration) -> Vec<i64> {
    let (sender, receiver) = mpsc::channel();
    pace(length, |index| {
        let station = stations[index].clone();
        let sender = sender.clone();
        handlers.spawn(async move {
            // The arrival is stamped when its task runs, as a request handler
            // stamps it.
            if let Ok(served) = station.visit(Instant::now(), None).await {
                let error = served.service.as_nanos() as i64 - served.drawn.as_nanos() as i64;
                let _ = sender.send(error);
            }
        });
    });
    drop(sender);
    receiver.iter().collect()
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
