//! `queuelab-analysis`: runs the analysis service as its own process.
//! Settings come from flags or their QUEUELAB_* environment variables.

use std::process::ExitCode;

use clap::Parser;
use queuelab_analysis_service::launch::{AnalysisArgs, run};
use queuelab_station::launch::init_tracing;

/// Serve the queuelab analysis service until SIGINT or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "queuelab-analysis", version, about)]
struct Args {
    #[command(flatten)]
    service: AnalysisArgs,
}

fn main() -> ExitCode {
    init_tracing();
    run(&Args::parse().service)
}
