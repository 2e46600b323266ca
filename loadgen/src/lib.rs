//! Open-loop gRPC load generator for queuelab.
//!
//! Requests arrive as a Poisson process at a target rate λ: the gaps are
//! exponential draws from a seeded generator, computed before the sends. Each
//! request is sent at its scheduled time whether or not earlier ones have
//! replied, and its end-to-end latency counts from that scheduled time, so a
//! slow server cannot hide its queueing by slowing the generator down
//! (coordinated omission).
//!
//! Modules:
//! - [`schedule`]: the Poisson arrival schedule;
//! - [`plan`]: the phases of a run (warm-up, one window per rate) and the
//!   parsing of rates and durations;
//! - [`sender`]: the [`SendRequest`] trait the generator drives, and
//!   [`connect`];
//! - [`pacing`]: waiting for a send time with µs precision;
//! - [`generator`]: the open-loop dispatch loop and the reply recorder;
//! - [`runner`]: runs them on threads of their own ([`spawn_run`]);
//! - [`window`]: the histograms and counters of one measurement window;
//! - [`report`]: the run's results, warnings and result files;
//! - [`storefront`], [`echo`]: senders for the mesh's gateway and for the
//!   minimal Echo service the tests and the bench use;
//! - [`command`]: the flags shared by `loadgen` and `queuelab load`;
//! - [`progress`]: the progress bar or log lines during a run.

#![warn(missing_docs)]

pub mod command;
pub mod echo;
pub mod error;
pub mod generator;
pub mod pacing;
pub mod plan;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod sender;
pub mod storefront;
pub mod window;

pub use command::{CommandError, LoadArgs, execute, print_report};
pub use echo::EchoSender;
pub use error::{ConnectError, OutputError, PlanError};
pub use generator::{Progress, RunOptions, RunOutcome};
pub use plan::{Phase, PhaseKind, Plan};
pub use report::RunReport;
pub use runner::{RunError, RunHandle, Stopper, spawn_run};
pub use schedule::PoissonSchedule;
pub use sender::{SendRequest, connect};
pub use storefront::StorefrontSender;
pub use window::{LatencySummary, WindowRecorder, WindowReport, WindowSummary};
