//! Host and process sampler with bottleneck indicators.
//!
//! Once per interval the [`Sampler`] reads one process (its own or a given
//! PID) and the host: CPU, memory, page faults, context switches, interrupts,
//! per-device disk counters and space per mount. `sysinfo` supplies what it
//! has, and [`procfs`] reads the rest from `/proc` (Linux only).
//!
//! - [`sample`]: the figures of one instant.
//! - [`sampler`]: reading them.
//! - [`window`]: the bounded samples of one measurement window.
//! - [`summary`] and [`statistics`]: distributions, rates and disk latency over a window.
//! - [`thresholds`] and [`indicators`]: pure bottleneck rules, driven by a [`Summary`].
//! - [`report`]: summary plus fired indicators, serialisable to JSON.
//! - [`background`]: a sampling thread with `start_window` / `end_window`.
//!
//! ```no_run
//! use queuelab_agent::{AgentConfig, spawn_sampler};
//!
//! let agent = spawn_sampler(AgentConfig::default())?;
//! agent.start_window();
//! // ... serve traffic ...
//! if let Some(report) = agent.end_window() {
//!     println!("{}", report.indicators.len());
//! }
//! # Ok::<(), queuelab_agent::AgentError>(())
//! ```
#![warn(missing_docs)]

pub mod background;
pub mod error;
pub mod indicators;
pub mod procfs;
pub mod report;
pub mod sample;
pub mod sampler;
pub mod statistics;
pub mod summary;
pub mod thresholds;
pub mod window;

pub use background::{AgentConfig, SamplerHandle, spawn_sampler};
pub use error::AgentError;
pub use indicators::{Indicator, Severity, evaluate};
pub use report::AgentReport;
pub use sample::{DiskCounters, HostSample, MountUsage, ProcessSample, Sample};
pub use sampler::{ProcessTarget, Sampler};
pub use statistics::Distribution;
pub use summary::{DiskSummary, MountSummary, ProcessSummary, Summary, summarize, summarize_disk};
pub use thresholds::Thresholds;
pub use window::Window;
