//! `queuelab`: check queueing-theory predictions against real traffic.
//!
//! This binary only parses arguments and prints; each subcommand lives in its
//! own module under `cli/` and calls the library crates that do the work.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            cli::exit_code_for(&error)
        }
    }
}
