//! `queuelab load`: open-loop Poisson traffic against the gateway, with the
//! same flags as the `loadgen` binary.

use std::process::ExitCode;

use queuelab_loadgen::{LoadArgs, execute, print_report};

use super::InputError;

/// Runs a load and prints its results. An invalid flag value becomes an
/// [`InputError`] (exit status 2).
pub fn run(args: &LoadArgs) -> anyhow::Result<ExitCode> {
    // Progress lines go through tracing when stderr is not a terminal, and
    // the requests' spans are exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let _telemetry = queuelab_telemetry::init("queuelab-loadgen");

    match execute(args) {
        Ok(report) => {
            print_report(args, &report);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if error.is_input_error() => Err(InputError(error.to_string()).into()),
        Err(error) => Err(error.into()),
    }
}
