//! `queuelab experiment`: drives a running mesh with the load generator and
//! has the analysis service compare what it measured with the model. The
//! demo runs the same steps against a mesh it starts itself.

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
use queuelab_topology::Topology;
use tonic::transport::Channel;

use super::InputError;
use super::model::load_topology;
use super::values::{positive_duration_s, positive_rate};

/// The per-request timeout of the load generator.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Progress snapshots this often; the first one of the measured phase opens
/// the stations' windows, so it bounds how late they open.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// The load and the reports of one experiment; shared by `demo` and `experiment`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadSettings {
    /// Topology file (TOML) [default: the built-in reference architecture].
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// External arrival rate, requests per second [default: the topology's].
    #[arg(long, value_name = "RPS", value_parser = positive_rate, allow_hyphen_values = true)]
    pub rate: Option<f64>,
    /// Length of the measured window, with a unit.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration_s)]
    pub duration: f64,
    /// Warm-up before each window, excluded from the figures.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = positive_duration_s)]
    pub warmup: f64,
    /// Runs one window per rate, comma-separated, and adds a latency-against-throughput plot.
    #[arg(long, value_name = "R1,R2,...", value_delimiter = ',', value_parser = positive_rate, conflicts_with = "rate")]
    pub sweep: Vec<f64>,
    /// Folder for the reports [default: results/demo-UNIXTIME].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the arrivals (and, in the demo, of the stations' service times and calls).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests in flight above which the load generator drops and counts a due request.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub max_in_flight: usize,
}

impl LoadSettings {
    /// Returns the rates to run: the sweep, or the one rate, or the topology's.
    pub fn rates(&self, topology: &Topology) -> Vec<f64> {
        if self.sweep.is_empty() {
            vec![self.rate.unwrap_or_else(|| topology.external_rate())]
        } else {
            self.sweep.clone()
        }
    }

    /// Checks the settings and creates the results folder, returning its path.
    pub fn prepare_out(&self) -> anyhow::Result<PathBuf> {
        if self.max_in_flight == 0 {
            return Err(InputError(
                "invalid --max-in-flight 0: allow at least 1 request in flight".into(),
            )
            .into());
        }
        let out = self.out.clone().unwrap_or_else(default_out);
        std::fs::create_dir_all(&out)
            .with_context(|| format!("failed to create the results folder {}", out.display()))?;
        Ok(out)
    }
}

fn default_out() -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    PathBuf::from("results").join(format!("demo-{seconds}"))
}

/// Flags of `queuelab experiment`.
#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    /// The api-gateway to drive, as host:port.
    #[arg(
        long,
        env = "QUEUELAB_GATEWAY",
        default_value = "127.0.0.1:50051",
        value_name = "HOST:PORT"
    )]
    gateway: String,
    /// The analysis service, as host:port.
    #[arg(
        long,
        env = "QUEUELAB_ANALYSIS",
        default_value = "127.0.0.1:50060",
        value_name = "HOST:PORT"
    )]
    analysis: String,
    #[command(flatten)]
    load: LoadSettings,
}

/// Runs `queuelab experiment` against a mesh and analysis service that already run.
pub fn run(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    let (topology, origin) = load_topology(args.load.topology.as_deref())?;
    let out = args.load.prepare_out()?;
    let runtime = tokio::runtime::Runtime::new().context("failed to start the tokio runtime")?;
    runtime.block_on(async {
        tokio::select! {
            outcome = run_experiments(&args.load, &topology, &origin, &args.gateway, &args.analysis, &out) => outcome,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted by Ctrl-C")),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs one experiment per rate of `settings` and writes the reports to `out`.
pub async fn run_experiments(
    settings: &LoadSettings,
    topology: &Topology,
    origin: &str,
    gateway: &str,
    analysis: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let rates = settings.rates(topology);
    let channel = Channel::from_shared(format!("http://{analysis}"))
        .map_err(|_| {
            InputError(format!(
                "invalid analysis address {analysis:?}: use HOST:PORT"
            ))
        })?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("failed to connect to the analysis service at {analysis}"))?;
    let mut analysis = AnalysisClient::new(channel);

    let mut reports = Vec::new();
    for (index, &rate) in rates.iter().enumerate() {
        eprintln!(
            "running {rate:.0} requests/s: {:.0} s warm-up, then a {:.0} s measured window",
            settings.warmup, settings.duration
        );
        let experiment_id = index as u64 + 1;
        let report = run_one(settings, rate, experiment_id, gateway, &mut analysis).await?;
        reports.push(report);
    }

    for (report, rate) in reports.iter().zip(&rates) {
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
    args: &LoadSettings,
    rate: f64,
    experiment_id: u64,
    gateway: &str,
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
