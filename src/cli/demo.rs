//! `queuelab demo`: the whole loop on this machine. It starts the mesh and
//! the analysis service as child processes, drives the gateway with the
//! open-loop load generator, and prints the measured figures beside the
//! model's predictions.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::serialization::{Serializer, V2Serializer};
use queuelab_analysis::render::{Sweep, SweepPoint};
use queuelab_analysis::{Report, predicted_sweep, status_name};
use queuelab_loadgen::{
    PhaseKind, Plan, RunOptions, StorefrontSender, WindowReport, connect, spawn_run,
};
use queuelab_proto::v1::analysis_client::AnalysisClient;
use queuelab_proto::v1::{
    FinishExperimentRequest, LoadFigures, StartExperimentRequest, StatusCount,
};
use queuelab_station::names;
use queuelab_station::supervisor::{ChildSpec, Mesh};
use queuelab_topology::Topology;
use tonic::transport::Channel;

use super::InputError;
use super::model::load_topology;
use super::values::{positive_duration_s, positive_rate};

/// Time every child gets to report healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Time the children get to drain before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The per-request timeout of the load generator.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Progress snapshots this often; the first one of the measured phase opens
/// the stations' windows, so it bounds how late they open.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// Flags of `queuelab demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// External arrival rate, requests per second [default: the topology's].
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    rate: Option<f64>,
    /// Length of the measured window, with a unit.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration_s)]
    duration: f64,
    /// Warm-up before each window, excluded from the figures.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = positive_duration_s)]
    warmup: f64,
    /// Runs one window per rate, comma-separated, and adds a latency-against-throughput plot.
    #[arg(long, value_name = "R1,R2,...", value_delimiter = ',', value_parser = positive_rate, conflicts_with = "rate")]
    sweep: Vec<f64>,
    /// Folder for the reports [default: results/demo-UNIXTIME].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed of the arrivals and of the stations' service times and calls.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests in flight above which the load generator drops and counts a due request.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    max_in_flight: usize,
}

/// Runs `queuelab demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // The children inherit the environment: without a RUST_LOG of the user's,
    // they log warnings and errors only, so the demo's own output stays readable.
    if std::env::var_os("RUST_LOG").is_none() {
        // SAFETY: no other thread exists yet; the runtime starts below.
        unsafe { std::env::set_var("RUST_LOG", "warn") };
    }
    let (topology, origin) = load_topology(args.topology.as_deref())?;
    check_services(&topology)?;
    let rates = if args.sweep.is_empty() {
        vec![args.rate.unwrap_or_else(|| topology.external_rate())]
    } else {
        args.sweep.clone()
    };
    if args.max_in_flight == 0 {
        return Err(InputError(
            "invalid --max-in-flight 0: allow at least 1 request in flight".into(),
        )
        .into());
    }
    let out = args.out.clone().unwrap_or_else(default_out);
    std::fs::create_dir_all(&out)
        .with_context(|| format!("failed to create the results folder {}", out.display()))?;

    let runtime = tokio::runtime::Runtime::new().context("failed to start the tokio runtime")?;
    runtime.block_on(async {
        let children = child_specs(&args, &topology)?;
        let mut mesh = Mesh::start(children.specs.clone(), READY_TIMEOUT)
            .await
            .context("the mesh failed to start, so every process it started was stopped")?;
        eprintln!("mesh and analysis service are up on 127.0.0.1 (gateway {})", children.gateway);

        let outcome = tokio::select! {
            outcome = run_experiments(&args, &topology, &origin, &rates, &children, &out) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted by Ctrl-C")),
            (name, status) = mesh.wait_for_exit() => Err(anyhow::anyhow!("{name} exited with {status} during the demo")),
        };

        eprintln!("stopping the mesh");
        mesh.stop(STOP_GRACE).await;
        outcome.map(|()| ExitCode::SUCCESS)
    })
}

/// Rejects a topology with a station that no service implements.
fn check_services(topology: &Topology) -> anyhow::Result<()> {
    for station in &topology.stations {
        if !names::ALL.contains(&station.name.as_str()) {
            return Err(InputError(format!(
                "the topology has station {:?}, which no service implements; the demo runs api-gateway, \
                 user, product, order, payment and database",
                station.name
            ))
            .into());
        }
    }
    Ok(())
}

fn default_out() -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    PathBuf::from("results").join(format!("demo-{seconds}"))
}

/// The processes of the demo and where they listen.
struct Children {
    specs: Vec<ChildSpec>,
    gateway: SocketAddr,
    analysis: SocketAddr,
}

/// Returns a port on 127.0.0.1 that is free now.
///
/// NOTE: another process may take the port before the child binds it; the
/// child then fails to start and the demo reports which one.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("failed to find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// Builds one child per station plus the analysis service, each on a free port.
fn child_specs(args: &DemoArgs, topology: &Topology) -> anyhow::Result<Children> {
    let program =
        std::env::current_exe().context("failed to find the path of the queuelab binary")?;
    let mut addresses = BTreeMap::new();
    for station in &topology.stations {
        addresses.insert(station.name.clone(), free_port()?);
    }
    let peers: Vec<String> = addresses
        .iter()
        .map(|(name, address)| format!("{name}={address}"))
        .collect();
    let topology_args: Vec<OsString> = match &args.topology {
        Some(path) => vec!["--topology".into(), path.into()],
        None => Vec::new(),
    };

    let mut specs = Vec::new();
    for (name, address) in &addresses {
        let mut child_args: Vec<OsString> = vec![
            "serve".into(),
            name.into(),
            "--listen".into(),
            address.to_string().into(),
            "--seed".into(),
            args.seed.to_string().into(),
            "--peer".into(),
            peers.join(",").into(),
        ];
        child_args.extend(topology_args.iter().cloned());
        specs.push(ChildSpec {
            name: name.clone(),
            program: program.clone(),
            args: child_args,
            address: *address,
        });
    }

    let analysis = free_port()?;
    let mut analysis_args: Vec<OsString> = vec![
        "serve-analysis".into(),
        "--listen".into(),
        analysis.to_string().into(),
        "--station".into(),
        peers.join(",").into(),
    ];
    analysis_args.extend(topology_args);
    specs.push(ChildSpec {
        name: "analysis".into(),
        program,
        args: analysis_args,
        address: analysis,
    });

    let gateway = *addresses.get(names::API_GATEWAY).ok_or_else(|| {
        InputError("the topology has no api-gateway station, which the load generator calls".into())
    })?;
    Ok(Children {
        specs,
        gateway,
        analysis,
    })
}

async fn run_experiments(
    args: &DemoArgs,
    topology: &Topology,
    origin: &str,
    rates: &[f64],
    children: &Children,
    out: &Path,
) -> anyhow::Result<()> {
    let channel = Channel::from_shared(format!("http://{}", children.analysis))?
        .connect()
        .await
        .context("failed to connect to the analysis service")?;
    let mut analysis = AnalysisClient::new(channel);

    let mut reports = Vec::new();
    for (index, &rate) in rates.iter().enumerate() {
        eprintln!(
            "running {rate:.0} requests/s: {:.0} s warm-up, then a {:.0} s measured window",
            args.warmup, args.duration
        );
        let experiment_id = index as u64 + 1;
        let report = run_one(args, rate, experiment_id, children.gateway, &mut analysis).await?;
        reports.push(report);
    }

    for (report, rate) in reports.iter().zip(rates) {
        if rates.len() > 1 {
            println!("\n== {rate:.0} requests/s");
        }
        println!("{}", queuelab_analysis::render::table(report));
    }

    let sweep = if rates.len() > 1 {
        let overhead = reports
            .iter()
            .map(|r| r.transport_overhead.mean_per_call)
            .sum::<f64>()
            / reports.len() as f64;
        let measured = reports
            .iter()
            .filter_map(|report| {
                let measured = report.end_to_end.measured.as_ref()?;
                Some(SweepPoint {
                    rate: report.external_rate,
                    mean_response_time: measured.mean_response_time,
                    p99_response_time: measured.response_time.p99,
                })
            })
            .collect();
        Some(Sweep {
            measured,
            predicted: predicted_sweep(topology, overhead, 40)?,
        })
    } else {
        None
    };

    let last = reports.last().expect("at least one rate");
    let json = serde_json::json!({
        "topology": origin,
        "reports": reports,
        "sweep": sweep,
    });
    let json_path = out.join("report.json");
    let html_path = out.join("report.html");
    let json_text = if reports.len() == 1 {
        serde_json::to_string_pretty(last)?
    } else {
        serde_json::to_string_pretty(&json)?
    };
    std::fs::write(&json_path, json_text)
        .with_context(|| format!("failed to write {}", json_path.display()))?;
    std::fs::write(
        &html_path,
        queuelab_analysis::render::html(last, sweep.as_ref()),
    )
    .with_context(|| format!("failed to write {}", html_path.display()))?;
    println!(
        "reports written to {} and {}",
        json_path.display(),
        html_path.display()
    );
    Ok(())
}

/// Runs one warm-up and window at `rate` and returns the analysis report.
async fn run_one(
    args: &DemoArgs,
    rate: f64,
    experiment_id: u64,
    gateway: SocketAddr,
    analysis: &mut AnalysisClient<Channel>,
) -> anyhow::Result<Report> {
    let plan = Plan::new(
        &[rate],
        Duration::from_secs_f64(args.warmup),
        Duration::from_secs_f64(args.duration),
    )
    .map_err(|error| InputError(error.to_string()))?;
    let options = RunOptions {
        seed: args.seed,
        max_in_flight: args.max_in_flight,
        timeout: REQUEST_TIMEOUT,
        progress_interval: PROGRESS_INTERVAL,
        ..RunOptions::default()
    };
    let url = format!("http://{gateway}");
    let seed = args.seed;
    let handle = spawn_run(plan, options, move || async move {
        Ok(StorefrontSender::new(connect(&url).await?, seed))
    })?;

    // The progress channel blocks, so it is read on a thread of its own; it
    // reports when the measured phase begins, and then every second.
    let (window_started, mut window_started_signal) = tokio::sync::mpsc::unbounded_channel();
    let watcher = std::thread::spawn(move || {
        let mut announced = false;
        let mut last_line = std::time::Instant::now();
        for progress in handle.progress() {
            if progress.kind == PhaseKind::Measured && !announced {
                announced = true;
                let _ = window_started.send(());
            }
            if last_line.elapsed() >= Duration::from_secs(1) {
                last_line = std::time::Instant::now();
                let p99 = progress.latency_p99.map_or("-".to_owned(), |p| {
                    format!("{:.2} ms", p.as_secs_f64() * 1e3)
                });
                eprintln!(
                    "  {:?} {:>4.0}/{:.0} s: {:.0} requests/s sent, p99 {p99}, {} in flight",
                    progress.kind,
                    progress.elapsed.as_secs_f64(),
                    progress.duration.as_secs_f64(),
                    progress.achieved_rate_per_s,
                    progress.in_flight
                );
            }
        }
        handle.join()
    });

    if window_started_signal.recv().await.is_none() {
        let outcome = tokio::task::spawn_blocking(move || watcher.join()).await?;
        let error = match outcome {
            Ok(Err(error)) => error.to_string(),
            _ => "the load generator stopped before its measured window".to_owned(),
        };
        bail!("{error}");
    }
    let started = analysis
        .start_experiment(StartExperimentRequest { experiment_id })
        .await
        .context("the analysis service failed to start the experiment")?
        .into_inner();
    for missing in &started.missing {
        eprintln!(
            "warning: station {} did not open its window: {}",
            missing.station, missing.reason
        );
    }

    let outcome = tokio::task::spawn_blocking(move || watcher.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the load generator's thread panicked"))??;
    let window = outcome
        .windows
        .first()
        .context("the load generator returned no measured window")?;
    if !window.summary.generator_kept_up {
        eprintln!(
            "warning: the load generator fell behind its schedule (send lateness p99 {:?} s), so the \
             arrivals were not quite Poisson",
            window.summary.send_lateness_p99_s
        );
    }

    let reply = analysis
        .finish_experiment(FinishExperimentRequest {
            experiment_id,
            load: Some(load_figures(window)?),
        })
        .await
        .context("the analysis service failed to finish the experiment")?
        .into_inner();
    serde_json::from_str(&reply.report_json)
        .context("the analysis service sent a report that is not valid JSON")
}

/// Converts the load generator's window into the analysis service's message.
fn load_figures(window: &WindowReport) -> anyhow::Result<LoadFigures> {
    let summary = &window.summary;
    let mut statuses = vec![StatusCount {
        code: 0,
        count: summary.ok,
    }];
    for (name, count) in &summary.errors_by_status {
        let code = (1..=16)
            .find(|code| status_name(*code) == name)
            .unwrap_or(2);
        statuses.push(StatusCount {
            code,
            count: *count,
        });
    }
    if summary.timeouts > 0 {
        statuses.push(StatusCount {
            code: 4,
            count: summary.timeouts,
        });
    }
    let mut latency_ns = Vec::new();
    V2Serializer::new()
        .serialize(&window.latency_ns, &mut latency_ns)
        .map_err(|error| anyhow::anyhow!("failed to serialize the latency histogram: {error:?}"))?;
    Ok(LoadFigures {
        window_length_ns: (summary.duration_s * 1e9) as u64,
        sent: summary.sent,
        completed: summary.ok,
        statuses,
        dropped_by_cap: summary.dropped_by_cap,
        latency_ns,
    })
}
