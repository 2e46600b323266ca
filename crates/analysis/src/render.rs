//! Renders a report as a terminal table or as a self-contained HTML page.

use std::fmt::Write as _;

use queuelab_engine::QuantilePoint;
use queuelab_topology::format_duration_s;
use serde::{Deserialize, Serialize};

use crate::report::Report;

/// One point of a latency-against-throughput curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// External rate, per second.
    pub rate: f64,
    /// Mean end-to-end response time, seconds.
    pub mean_response_time: f64,
    /// End-to-end p99, seconds.
    pub p99_response_time: f64,
}

/// Measured windows of a rate sweep, and the model's curve over the same range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// One point per measured window.
    pub measured: Vec<SweepPoint>,
    /// The model, from low load up to just below saturation.
    pub predicted: Vec<SweepPoint>,
}

fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{:+.1}%", value * 100.0)
    } else {
        "-".to_owned()
    }
}

fn time(value: f64) -> String {
    if value.is_finite() {
        format_duration_s(value)
    } else {
        "-".to_owned()
    }
}

/// Renders the comparison as plain text for a terminal.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let counts = &report.counts;
    let errors = if counts.errors.is_empty() {
        "none".to_owned()
    } else {
        counts
            .errors
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "window {:.1} s at {:.1} requests/s; sent {}, completed {}, errors: {errors}",
        report.window_length, report.external_rate, counts.sent, counts.completed
    );
    if counts.dropped_by_cap + counts.station_losses + counts.deadline_drops > 0 {
        let _ = writeln!(
            out,
            "not served: {} over the in-flight cap, {} lost at full stations, {} deadline drops",
            counts.dropped_by_cap, counts.station_losses, counts.deadline_drops
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:>8} {:>8} {:>6} {:>6}  {:>10} {:>10} {:>7}  {:>10} {:>10} {:>7}",
        "station",
        "λ meas",
        "λ pred",
        "ρ meas",
        "ρ pred",
        "W meas",
        "W pred",
        "error",
        "p99 meas",
        "p99 pred",
        "error"
    );
    for station in &report.stations {
        let (Some(measured), Some(error)) = (&station.measured, &station.relative_error) else {
            let reason = station
                .missing_reason
                .as_deref()
                .unwrap_or("no prediction: unstable");
            let _ = writeln!(
                out,
                "{:<12} {}",
                station.name,
                if station.measured.is_none() {
                    format!("missing: {reason}")
                } else {
                    "unstable in the model at this rate".to_owned()
                }
            );
            continue;
        };
        let predicted = station
            .predicted
            .as_ref()
            .expect("an error needs a prediction");
        let _ = writeln!(
            out,
            "{:<12} {:>8.1} {:>8.1} {:>6.3} {:>6.3}  {:>10} {:>10} {:>7}  {:>10} {:>10} {:>7}",
            station.name,
            measured.arrival_rate,
            predicted.arrival_rate,
            measured.utilization,
            predicted.utilization,
            time(measured.mean_sojourn_time),
            time(predicted.mean_sojourn_time),
            percent(error.mean_sojourn_time),
            time(measured.sojourn_time.p99),
            time(predicted.sojourn_time.p99),
            percent(error.p99),
        );
    }

    let end_to_end = &report.end_to_end;
    if let (Some(m), Some(p), Some(e)) = (
        &end_to_end.measured,
        &end_to_end.predicted,
        &end_to_end.relative_error,
    ) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "end to end   mean {} vs {} ({}), p50 {} vs {} ({}), p90 {} vs {} ({}), p99 {} vs {} ({})",
            time(m.mean_response_time),
            time(p.mean_response_time),
            percent(e.mean_response_time),
            time(m.response_time.p50),
            time(p.response_time.p50),
            percent(e.p50),
            time(m.response_time.p90),
            time(p.response_time.p90),
            percent(e.p90),
            time(m.response_time.p99),
            time(p.response_time.p99),
            percent(e.p99),
        );
        let _ = writeln!(
            out,
            "             measured vs predicted; predicted quantiles by {}",
            end_to_end.method
        );
    } else {
        let _ = writeln!(out, "end to end   {}", end_to_end.method);
    }

    let _ = writeln!(
        out,
        "transport overhead: {} per call (call-weighted mean over {} call edges)",
        time(report.transport_overhead.mean_per_call),
        report.transport_overhead.calls.len()
    );
    let worst_hold = report
        .stations
        .iter()
        .filter_map(|station| Some((station.hold_lateness_p99?, &station.name)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((lateness, station)) = worst_hold {
        let _ = writeln!(
            out,
            "hold lateness: p99 {} at the worst station ({station}), how much longer than drawn the emulated service times ran",
            time(lateness)
        );
    }
    let _ = writeln!(
        out,
        "bottleneck: {}; largest stable external rate {:.1}/s",
        report.bottleneck, report.max_external_rate
    );
    if report.indicators.is_empty() {
        let _ = writeln!(out, "agent indicators: none fired");
    } else {
        let _ = writeln!(out, "agent indicators:");
        for fired in &report.indicators {
            let _ = writeln!(
                out,
                "  {:?} {} at {}: {}",
                fired.indicator.severity,
                fired.indicator.name,
                fired.station,
                fired.indicator.message
            );
        }
    }
    out
}

/// Plot area of every SVG chart, in pixels.
const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 260.0;
const MARGIN_LEFT: f64 = 80.0;
const MARGIN_BOTTOM: f64 = 36.0;
/// Largest 1/(1 − q) on the spectrum's axis: q = 0.9999.
const MAX_DECADES: f64 = 4.0;

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws the key of the two line styles in the plot's top left corner.
fn legend() -> String {
    let x = MARGIN_LEFT + 10.0;
    format!(
        "<line x1=\"{x}\" y1=\"20\" x2=\"{}\" y2=\"20\" class=\"measured\"/>\
         <text x=\"{}\" y=\"24\">measured</text>\
         <line x1=\"{x}\" y1=\"36\" x2=\"{}\" y2=\"36\" class=\"predicted\"/>\
         <text x=\"{}\" y=\"40\">predicted</text>",
        x + 24.0,
        x + 30.0,
        x + 24.0,
        x + 30.0
    )
}

/// Draws measured and predicted percentile spectra: latency against
/// log10(1/(1 − q)), the usual way to show a latency distribution's tail.
fn spectrum_svg(title: &str, measured: &[QuantilePoint], predicted: &[QuantilePoint]) -> String {
    let x_of = |level: f64| (1.0 / (1.0 - level)).log10().min(MAX_DECADES);
    let max_seconds = measured
        .iter()
        .chain(predicted)
        .map(|point| point.seconds)
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max)
        .max(1e-6);
    let to_px = |x: f64, seconds: f64| {
        (
            MARGIN_LEFT + x / MAX_DECADES * WIDTH,
            10.0 + HEIGHT - seconds / max_seconds * HEIGHT,
        )
    };
    let polyline = |points: &[QuantilePoint], style: &str| {
        let coordinates: Vec<String> = points
            .iter()
            .filter(|point| point.seconds.is_finite())
            .map(|point| {
                let (x, y) = to_px(x_of(point.level), point.seconds);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        format!(
            "<polyline fill=\"none\" {style} points=\"{}\"/>",
            coordinates.join(" ")
        )
    };

    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" \
         role=\"img\">",
        escape(title),
        MARGIN_LEFT + WIDTH + 20.0,
        HEIGHT + MARGIN_BOTTOM + 20.0,
        MARGIN_LEFT + WIDTH + 20.0,
        HEIGHT + MARGIN_BOTTOM + 20.0
    );
    for (decade, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
        let (x, y) = to_px(decade as f64, 0.0);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"10\" x2=\"{x:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            y + 16.0
        );
    }
    for step in 0..=4 {
        let seconds = max_seconds * step as f64 / 4.0;
        let (x, y) = to_px(0.0, seconds);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            MARGIN_LEFT + WIDTH,
            x - 4.0,
            y + 4.0,
            escape(&format_duration_s(seconds))
        );
    }
    svg.push_str(&polyline(predicted, "class=\"predicted\""));
    svg.push_str(&polyline(measured, "class=\"measured\""));
    svg.push_str(&legend());
    svg.push_str("</svg></figure>");
    svg
}

/// Picks one figure of a sweep point.
type Pick = fn(&SweepPoint) -> f64;

/// Draws latency against throughput: the model's mean and p99 curves, with measured points.
fn sweep_svg(sweep: &Sweep) -> String {
    let all = sweep.measured.iter().chain(&sweep.predicted);
    let max_rate = all
        .clone()
        .map(|point| point.rate)
        .fold(0.0, f64::max)
        .max(1.0);
    let max_seconds = all
        .map(|point| point.p99_response_time)
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max)
        .max(1e-6);
    let to_px = |rate: f64, seconds: f64| {
        (
            MARGIN_LEFT + rate / max_rate * WIDTH,
            10.0 + HEIGHT - (seconds / max_seconds).min(1.0) * HEIGHT,
        )
    };

    let mut svg = format!(
        "<figure><figcaption>End-to-end latency against throughput: predicted mean and p99 (lines), \
         measured (dots)</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\">",
        w = MARGIN_LEFT + WIDTH + 20.0,
        h = HEIGHT + MARGIN_BOTTOM + 20.0
    );
    for step in 0..=4 {
        let rate = max_rate * step as f64 / 4.0;
        let seconds = max_seconds * step as f64 / 4.0;
        let (x, bottom) = to_px(rate, 0.0);
        let (left, y) = to_px(0.0, seconds);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"10\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" class=\"grid\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{rate:.0}/s</text>\
             <line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            bottom + 16.0,
            MARGIN_LEFT + WIDTH,
            left - 4.0,
            y + 4.0,
            escape(&format_duration_s(seconds))
        );
    }
    let curves: [(Pick, &str); 2] = [
        (|p| p.mean_response_time, "predicted"),
        (|p| p.p99_response_time, "predicted tail"),
    ];
    for (pick, class) in curves {
        let coordinates: Vec<String> = sweep
            .predicted
            .iter()
            .filter(|point| pick(point).is_finite())
            .map(|point| {
                let (x, y) = to_px(point.rate, pick(point));
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" class=\"{class}\" points=\"{}\"/>",
            coordinates.join(" ")
        );
    }
    for point in &sweep.measured {
        for (seconds, class) in [
            (point.mean_response_time, "measured"),
            (point.p99_response_time, "measured tail"),
        ] {
            let (x, y) = to_px(point.rate, seconds);
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" class=\"{class}\"/>"
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Renders a self-contained HTML page: the table, then one percentile-spectrum
/// plot per station and end to end, and the sweep plot when there is one.
pub fn html(report: &Report, sweep: Option<&Sweep>) -> String {
    let mut page = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>queuelab report</title><style>\
         body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f6f6f6;padding:1em;overflow-x:auto}\
         figure{display:inline-block;margin:0.5em}figcaption{font-weight:bold}\
         svg text{font-size:11px;fill:#333}.grid{stroke:#ddd}\
         .measured{stroke:#1f77b4;stroke-width:2}.predicted{stroke:#ff7f0e;stroke-width:2;stroke-dasharray:6 4}\
         polyline.tail{stroke:#d62728}circle.measured{fill:#1f77b4}circle.tail{fill:#d62728}\
         </style></head><body><h1>queuelab: measured against predicted</h1>",
    );
    let _ = write!(
        page,
        "<p>Topology: {}. Blue solid lines are measured, orange dashed lines predicted. The x axis of each \
         spectrum is the percentile on a log scale of 1/(1 − q).</p><pre>{}</pre>",
        escape(&report.topology),
        escape(&table(report))
    );

    if let Some(sweep) = sweep {
        page.push_str(&sweep_svg(sweep));
    }

    let end_to_end = &report.end_to_end;
    let measured = end_to_end
        .measured
        .as_ref()
        .map_or(&[][..], |m| &m.response_time_spectrum[..]);
    let predicted = end_to_end
        .predicted
        .as_ref()
        .map_or(&[][..], |p| &p.response_time_spectrum[..]);
    page.push_str(&spectrum_svg(
        "End-to-end response time",
        measured,
        predicted,
    ));

    for station in &report.stations {
        let measured = station
            .measured
            .as_ref()
            .map_or(&[][..], |m| &m.sojourn_time_spectrum[..]);
        let predicted = station
            .predicted
            .as_ref()
            .map_or(&[][..], |p| &p.sojourn_time_spectrum[..]);
        let title = format!("{}: sojourn time ({})", station.name, station.status);
        page.push_str(&spectrum_svg(&title, measured, predicted));
    }

    page.push_str("<h2>Assumptions</h2><ul>");
    for assumption in &report.assumptions {
        let _ = write!(page, "<li>{}</li>", escape(assumption));
    }
    page.push_str("</ul></body></html>\n");
    page
}
