//! The command-line interface shared by the `loadgen` binary and
//! `queuelab load`: flags, the run they start, and how results are shown.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::echo::EchoSender;
use crate::error::{ConnectError, OutputError, PlanError};
use crate::generator::{RunOptions, RunOutcome};
use crate::plan::{Plan, parse_duration, parse_rates};
use crate::progress::ProgressDisplay;
use crate::report::{
    RunReport, prepare_output_dir, render_text, unix_seconds, warnings_for, write_results,
};
use crate::runner::{RunError, RunHandle, spawn_run};
use crate::sender::connect;
use crate::storefront::StorefrontSender;
use crate::window::DEFAULT_MAX_SEND_LATENESS_P99;

/// Default target: the api-gateway's default address.
pub const DEFAULT_TARGET: &str = "http://127.0.0.1:50051";

/// The gRPC method the requests call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// `queuelab.v1.Storefront/HandleRequest`, served by the api-gateway.
    Storefront,
    /// `queuelab.bench.v1.Echo/Echo`, served by the minimal Echo server
    /// (`cargo run -p queuelab-loadgen --example echo_server`).
    Echo,
}

impl Api {
    /// Returns the full gRPC method name.
    pub fn method(self) -> &'static str {
        match self {
            Self::Storefront => "queuelab.v1.Storefront/HandleRequest",
            Self::Echo => "queuelab.bench.v1.Echo/Echo",
        }
    }
}

/// A list of arrival rates from `--rate`, in requests per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates(pub Vec<f64>);

fn parse_rates_flag(text: &str) -> Result<Rates, PlanError> {
    parse_rates(text).map(Rates)
}

/// Flags of a load run.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// URL of the gRPC server to load.
    #[arg(long, default_value = DEFAULT_TARGET)]
    pub target: String,

    /// gRPC method to call.
    #[arg(long, value_enum, default_value_t = Api::Storefront)]
    pub api: Api,

    /// Arrival rate λ in requests/s, or a comma-separated list of rates for a
    /// sweep with one measured window per rate (e.g. 500,1000,1500).
    #[arg(long, default_value = "1000", value_parser = parse_rates_flag)]
    pub rate: Rates,

    /// Length of the measured window, with a unit (500ms, 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Length of each window of a rate sweep (default: --duration).
    #[arg(long, value_parser = parse_duration)]
    pub step_duration: Option<Duration>,

    /// Warm-up at the first rate before the first window, excluded from
    /// the results; 0s for none.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// Seed of the arrival schedule (default: a random seed, shown in the
    /// results).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Cap on requests in flight; a request due when the cap is reached is
    /// not sent and is counted as dropped.
    #[arg(long, default_value_t = 1000)]
    pub max_in_flight: usize,

    /// Per-request timeout, sent as the gRPC deadline (500ms, 2s).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Directory for summary.json, latency.hlog and send-lateness.hlog
    /// (created when missing).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,

    /// With --api echo: how long the Echo server delays each reply.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub echo_stall: Duration,
}

/// A failure of [`execute`].
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A flag value is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),

    /// The run could not start.
    #[error(transparent)]
    Run(#[from] RunError),

    /// The `--out` directory could not be created; this is an input error.
    #[error("invalid --out directory: {0}")]
    OutputDir(#[source] OutputError),

    /// The result files could not be written after the run.
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl CommandError {
    /// Returns whether the user can fix the error by changing a flag, so
    /// the program should exit with the usage status 2.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Self::Plan(_)
                | Self::OutputDir(_)
                | Self::Run(RunError::Connect(ConnectError::InvalidTarget(_)))
        )
    }
}

/// Validates the flags, runs the load with a progress display on stderr,
/// writes the files of `--out`, and returns the report.
///
/// # Errors
/// [`CommandError`] for an invalid flag, an unreachable target or an
/// output directory that cannot be written.
pub fn execute(args: &LoadArgs) -> Result<RunReport, CommandError> {
    let (plan, options) = validate(args)?;
    let plan_duration = plan.duration();
    if let Some(dir) = &args.out {
        // Fail before the run, not after minutes of load.
        prepare_output_dir(dir).map_err(CommandError::OutputDir)?;
    }
    tracing::info!(
        target_url = %args.target,
        method = args.api.method(),
        seed = options.seed,
        phases = plan.phases().len(),
        scheduled_s = plan_duration.as_secs_f64(),
        "load run starting"
    );

    let handle = start(args, plan, &options)?;
    stop_on_ctrl_c(&handle);
    let mut display = ProgressDisplay::for_stderr();
    for progress in handle.progress() {
        display.show(&progress);
    }
    display.finish();
    let outcome = handle.join()?;

    let report = build_report(args, &options, plan_duration, outcome);
    if let Some(dir) = &args.out {
        for path in write_results(dir, &report)? {
            tracing::info!(path = %path.display(), "wrote results");
        }
    }
    Ok(report)
}

/// Checks the flags and turns them into a plan and run options.
fn validate(args: &LoadArgs) -> Result<(Plan, RunOptions), PlanError> {
    let window = args.step_duration.unwrap_or(args.duration);
    let plan = Plan::new(&args.rate.0, args.warmup, window)?;
    if args.max_in_flight == 0 {
        return Err(PlanError::ZeroMaxInFlight);
    }
    if args.timeout.is_zero() {
        return Err(PlanError::ZeroDuration { setting: "timeout" });
    }

    let options = RunOptions {
        seed: args.seed.unwrap_or_else(rand::random),
        max_in_flight: args.max_in_flight,
        timeout: args.timeout,
        max_send_lateness_p99: DEFAULT_MAX_SEND_LATENESS_P99,
        progress_interval: Duration::from_secs(1),
    };
    Ok((plan, options))
}

/// Starts the run with the sender of the chosen API.
fn start(args: &LoadArgs, plan: Plan, options: &RunOptions) -> Result<RunHandle, RunError> {
    let url = args.target.clone();
    match args.api {
        Api::Storefront => {
            let seed = options.seed;
            spawn_run(plan, options.clone(), move || async move {
                Ok(StorefrontSender::new(connect(&url).await?, seed))
            })
        }
        Api::Echo => {
            let stall = args.echo_stall;
            spawn_run(plan, options.clone(), move || async move {
                Ok(EchoSender::new(connect(&url).await?, stall))
            })
        }
    }
}

/// Makes the first Ctrl-C end the run early, still reporting what was
/// measured, and a second one exit at once.
///
/// NOTE: the handler is process-wide and can be set only once, so a second
/// run in the same process keeps the first run's handler and its Ctrl-C
/// ends the process without results.
fn stop_on_ctrl_c(handle: &RunHandle) {
    let stopper = handle.stopper();
    let interrupts = AtomicUsize::new(0);
    let installed = ctrlc::try_set_handler(move || {
        if interrupts.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!("stopping: waiting for the requests in flight (Ctrl-C again to quit now)");
            stopper.stop();
        } else {
            std::process::exit(130);
        }
    });
    if let Err(error) = installed {
        tracing::debug!(%error, "Ctrl-C handler not installed; Ctrl-C ends the run without results");
    }
}

/// Puts the outcome, the settings and the warnings into one report.
fn build_report(
    args: &LoadArgs,
    options: &RunOptions,
    plan_duration: Duration,
    outcome: RunOutcome,
) -> RunReport {
    let mut warnings = warnings_for(
        &outcome.windows,
        options.max_in_flight,
        options.timeout,
        options.max_send_lateness_p99,
    );
    if let Some(stopped_after) = outcome.stopped_after {
        warnings.push(format!(
            "the run was stopped after {:.1} s of its planned {:.1} s: the last window is shorter than planned and later ones did not run",
            stopped_after.as_secs_f64(),
            plan_duration.as_secs_f64(),
        ));
    }

    RunReport {
        target: args.target.clone(),
        method: args.api.method().to_owned(),
        seed: options.seed,
        max_in_flight: options.max_in_flight,
        timeout_s: options.timeout.as_secs_f64(),
        warmup_s: args.warmup.as_secs_f64(),
        started_at_unix_s: unix_seconds(outcome.started_at),
        stopped_after_s: outcome.stopped_after.map(|after| after.as_secs_f64()),
        max_send_lateness_p99_s: options.max_send_lateness_p99.as_secs_f64(),
        windows: outcome.windows,
        warnings,
    }
}

/// Prints the report on stdout: JSON with `--json`, a table otherwise.
pub fn print_report(args: &LoadArgs, report: &RunReport) {
    if args.json {
        let json = serde_json::to_string_pretty(report).expect("the report serializes to JSON");
        println!("{json}");
    } else {
        print!("{}", render_text(report));
    }
}
