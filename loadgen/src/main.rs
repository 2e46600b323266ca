//! `loadgen`: sends open-loop Poisson gRPC traffic and reports end-to-end
//! latency. The same flags are available as `queuelab load`.

use std::io::IsTerminal;
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

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
