//! Subcommands of `queuelab`, one module each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Check queueing-theory predictions against real traffic.
#[derive(Debug, Parser)]
#[command(name = "queuelab", version, about, propagate_version = true)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
}

/// Runs the chosen subcommand and returns the process exit code.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
    }
}

/// An error the user can fix by changing the input: a bad flag value or file.
///
/// It exits with status 2, like clap's own usage errors; every other error
/// exits with 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Maps an error to the process exit code: 2 for input errors, 1 otherwise.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| cause.is::<InputError>()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
