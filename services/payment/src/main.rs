//! `queuelab-payment`: runs the payment station of the queuelab mesh as its own
//! process. Settings come from flags or their QUEUELAB_* environment variables.

use std::process::ExitCode;

use clap::Parser;
use queuelab_station::launch::{ServiceArgs, init_tracing, run_service};

/// Serve the payment station of the queuelab mesh until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "queuelab-payment", version, about)]
struct Args {
    #[command(flatten)]
    service: ServiceArgs,
}

fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    run_service(
        queuelab_payment::STATION,
        &args.service,
        queuelab_payment::serve,
    )
}
