//! `queuelab-database`: runs the database station of the queuelab mesh as its own
//! process. Settings come from flags or their QUEUELAB_* environment variables.

use std::process::ExitCode;

use clap::Parser;
use queuelab_station::launch::{ServiceArgs, init_tracing, run_service};

/// Serve the database station of the queuelab mesh until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "queuelab-database", version, about)]
struct Args {
    #[command(flatten)]
    service: ServiceArgs,
}

fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    run_service(
        queuelab_database::STATION,
        &args.service,
        queuelab_database::serve,
    )
}
