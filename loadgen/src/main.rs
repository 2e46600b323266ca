//! `loadgen`: sends open-loop Poisson gRPC traffic and reports end-to-end
//! latency. The same flags are available as `queuelab load`.

use std::process::ExitCode;

use clap::Parser;
use queuelab_loadgen::LoadArgs;

/// Send open-loop Poisson gRPC traffic and report end-to-end latency.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Cli {
    #[command(flatten)]
    load: LoadArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs to stderr filtered by RUST_LOG, and exports a client span per
    // request when OTEL_EXPORTER_OTLP_ENDPOINT is set; the guard flushes at
    // the end of main.
    let _telemetry = queuelab_telemetry::init("queuelab-loadgen");

    match queuelab_loadgen::execute(&cli.load) {
        Ok(report) => {
            queuelab_loadgen::print_report(&cli.load, &report);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let status = if error.is_input_error() { 2 } else { 1 };
            eprintln!("error: {:#}", anyhow::Error::from(error));
            ExitCode::from(status)
        }
    }
}
