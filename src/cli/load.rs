//! `queuelab load`: open-loop Poisson traffic against the gateway, with the
//! same flags as the `loadgen` binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use queuelab_loadgen::{LoadArgs, execute, print_report};

use super::InputError;

/// Runs a load and prints its results. An invalid flag value becomes an
/// [`InputError`] (exit status 2).
pub fn run(args: &LoadArgs) -> anyhow::Result<ExitCode> {
    // Progress lines go through tracing when stderr is not a terminal.
    // Another subcommand may have installed a subscriber already.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    match execute(args) {
        Ok(report) => {
            print_report(args, &report);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if error.is_input_error() => Err(InputError(error.to_string()).into()),
        Err(error) => Err(error.into()),
    }
}
