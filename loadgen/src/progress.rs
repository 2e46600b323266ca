//! Shows run progress: a progress bar per phase in a terminal, one log line
//! per interval otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::generator::Progress;
use crate::plan::PhaseKind;
use crate::report::format_seconds;

/// Displays [`Progress`] snapshots as they arrive.
#[derive(Debug)]
pub enum ProgressDisplay {
    /// An indicatif bar on stderr, one per phase.
    Bar {
        /// The bar of the current phase, if one has started.
        bar: Option<ProgressBar>,
        /// Index of the phase the bar shows.
        phase_index: usize,
    },
    /// One `tracing` info line per snapshot.
    Log,
}

impl ProgressDisplay {
    /// Chooses a bar when stderr is a terminal, log lines otherwise.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Bar {
                bar: None,
                phase_index: usize::MAX,
            }
        } else {
            Self::Log
        }
    }

    /// Shows one snapshot.
    pub fn show(&mut self, progress: &Progress) {
        match self {
            Self::Bar { bar, phase_index } => {
                if *phase_index != progress.phase_index {
                    if let Some(done) = bar.take() {
                        done.finish();
                    }
                    *bar = Some(new_bar(progress));
                    *phase_index = progress.phase_index;
                }
                if let Some(bar) = bar {
                    bar.set_position(millis(progress.elapsed.min(progress.duration)));
                    bar.set_message(status_line(progress));
                }
            }
            Self::Log => {
                tracing::info!(
                    phase = progress.phase_index,
                    kind = ?progress.kind,
                    elapsed_s = progress.elapsed.as_secs_f64(),
                    target_rate_per_s = progress.target_rate_per_s,
                    achieved_rate_per_s = progress.achieved_rate_per_s,
                    sent = progress.sent,
                    latency_p99_s = progress.latency_p99.map(|p99| p99.as_secs_f64()),
                    send_lateness_p99_s = progress.send_lateness_p99.map(|p99| p99.as_secs_f64()),
                    dropped_by_cap = progress.dropped_by_cap,
                    in_flight = progress.in_flight,
                    "progress"
                );
            }
        }
    }

    /// Clears the bar, if any, so the results print in its place.
    pub fn finish(&mut self) {
        if let Self::Bar { bar, .. } = self
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}

fn new_bar(progress: &Progress) -> ProgressBar {
    let bar = ProgressBar::new(millis(progress.duration));
    let style = ProgressStyle::with_template("{prefix} {wide_bar} {msg}")
        .expect("the progress template is valid");
    bar.set_style(style);
    let kind = match progress.kind {
        PhaseKind::Warmup => "warm-up",
        PhaseKind::Measured => "window",
    };
    bar.set_prefix(format!("{kind} {}/s", progress.target_rate_per_s));
    bar
}

fn status_line(progress: &Progress) -> String {
    format!(
        "{:.1}/{:.1} s {:.0}/s p99 {} late p99 {} in flight {} dropped {}",
        progress.elapsed.as_secs_f64(),
        progress.duration.as_secs_f64(),
        progress.achieved_rate_per_s,
        format_seconds(progress.latency_p99.map(|p99| p99.as_secs_f64())),
        format_seconds(progress.send_lateness_p99.map(|p99| p99.as_secs_f64())),
        progress.in_flight,
        progress.dropped_by_cap,
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
