//! Sets the measured figures beside the model's predictions.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use queuelab_engine::{
    NetworkError, NetworkSolution, QuantilePoint, Quantiles, ResponseOptions, ServiceDistribution,
};
use queuelab_topology::Topology;

use crate::measurement::{LoadMeasurement, StationInput, StationMeasurement};
use crate::report::{
    CallOverhead, Counts, EndToEndComparison, Report, ResponseErrors, ResponseFigures,
    StationComparison, StationCounts, StationErrors, StationFigures, StationIndicator,
    TransportOverhead,
};

/// The model could not be solved for the measured load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The topology does not give a solvable network.
    #[error("the topology cannot be solved: {0}")]
    Model(#[from] NetworkError),
    /// The window measured nothing.
    #[error("the load generator sent no requests in the window, so there is nothing to compare")]
    EmptyWindow,
}

/// Quantile levels of the percentile-spectrum plots: 1 − 10^(−k/10), from 0 to 0.9999.
pub fn spectrum_levels() -> Vec<f64> {
    (0..=40)
        .map(|k| 1.0 - 10f64.powf(-(k as f64) / 10.0))
        .collect()
}

/// Compares one window's measurements with the model of `topology`.
///
/// `origin` names the topology in the report. Stations missing from `stations`
/// are reported as missing; the rest are still compared.
pub fn compare(
    topology: &Topology,
    origin: &str,
    load: &LoadMeasurement,
    stations: &[StationInput],
) -> Result<Report, AnalysisError> {
    if load.sent == 0 || load.window_length_s <= 0.0 {
        return Err(AnalysisError::EmptyWindow);
    }
    let external_rate = load.external_rate();
    let measured = |name: &str| {
        stations.iter().find_map(|input| match input {
            StationInput::Measured(measurement) if measurement.name == name => {
                Some(measurement.as_ref())
            }
            _ => None,
        })
    };

    let overhead = transport_overhead(topology, &measured);
    let mut network = topology.with_external_rate(external_rate).to_network()?;
    for (index, station) in topology.stations.iter().enumerate() {
        let callers: Vec<&CallOverhead> = overhead
            .calls
            .iter()
            .filter(|call| call.to == station.name)
            .collect();
        let (mean, stdev) = weighted_overhead(&callers)
            .unwrap_or((overhead.mean_per_call, overhead.stdev_per_call));
        // A visit pays the station's dispatch delay once, like a call's
        // overhead, so it joins the overhead's mean.
        let dispatch = measured(&station.name).map_or(0.0, dispatch_delay_s);
        let total = mean + dispatch;
        network.set_transport_overhead_distribution(index, total, overhead_shape(total, stdev))?;
    }
    let options = ResponseOptions {
        spectrum_levels: spectrum_levels(),
        ..ResponseOptions::default()
    };
    let solution = network.solve(&options)?;

    let comparisons = topology
        .stations
        .iter()
        .zip(&solution.stations)
        .map(|(station, prediction)| {
            let missing_reason = stations.iter().find_map(|input| match input {
                StationInput::Missing { name, reason } if *name == station.name => {
                    Some(reason.clone())
                }
                _ => None,
            });
            compare_station(
                &station.name,
                measured(&station.name),
                missing_reason,
                prediction,
            )
        })
        .collect();

    Ok(Report {
        topology: origin.to_owned(),
        window_length: load.window_length_s,
        external_rate,
        counts: counts(load, stations),
        bottleneck: solution.bottleneck.clone(),
        max_external_rate: solution.max_external_rate,
        stations: comparisons,
        end_to_end: compare_end_to_end(load, &solution),
        transport_overhead: overhead,
        indicators: indicators(stations),
        assumptions: assumptions(topology),
    })
}

fn compare_station(
    name: &str,
    measurement: Option<&StationMeasurement>,
    missing_reason: Option<String>,
    prediction: &queuelab_engine::StationPrediction,
) -> StationComparison {
    // The runtime's measured dispatch delay shifts the model's waiting and
    // sojourn times by a constant, quantiles included.
    let dispatch = measurement.map_or(0.0, dispatch_delay_s);
    let shift = |quantiles: Quantiles| Quantiles {
        p50: quantiles.p50 + dispatch,
        p90: quantiles.p90 + dispatch,
        p95: quantiles.p95 + dispatch,
        p99: quantiles.p99 + dispatch,
        p99_9: quantiles.p99_9 + dispatch,
    };
    let predicted = prediction
        .mean_sojourn_time
        .map(|mean_sojourn_time| StationFigures {
            arrival_rate: prediction.arrival_rate,
            utilization: prediction.utilization,
            mean_waiting_time: prediction.mean_waiting_time.unwrap_or(f64::NAN) + dispatch,
            mean_sojourn_time: mean_sojourn_time + dispatch,
            sojourn_time: shift(
                prediction
                    .sojourn_time
                    .unwrap_or_else(|| Quantiles::from_fn(|_| f64::NAN)),
            ),
            mean_service_time: 1.0 / prediction.service_rate,
            service_time_scv: scv_of(&prediction.distribution),
            sojourn_time_spectrum: prediction
                .sojourn_time_spectrum
                .iter()
                .map(|point| QuantilePoint {
                    level: point.level,
                    seconds: point.seconds + dispatch,
                })
                .collect(),
        });
    let measured = measurement.map(measured_figures);
    let relative_error = match (&measured, &predicted) {
        (Some(m), Some(p)) => Some(StationErrors {
            arrival_rate: relative(m.arrival_rate, p.arrival_rate),
            utilization: relative(m.utilization, p.utilization),
            mean_sojourn_time: relative(m.mean_sojourn_time, p.mean_sojourn_time),
            p50: relative(m.sojourn_time.p50, p.sojourn_time.p50),
            p90: relative(m.sojourn_time.p90, p.sojourn_time.p90),
            p99: relative(m.sojourn_time.p99, p.sojourn_time.p99),
        }),
        _ => None,
    };
    let status = if measured.is_some() {
        "measured"
    } else {
        "missing"
    };
    StationComparison {
        name: name.to_owned(),
        status: status.to_owned(),
        missing_reason: if measured.is_some() {
            None
        } else {
            Some(missing_reason.unwrap_or_else(|| "the station sent no figures".to_owned()))
        },
        dispatch_delay: measurement.map(dispatch_delay_s),
        hold_lateness_p99: measurement
            .filter(|m| !m.hold_lateness_ns.is_empty())
            .map(|m| m.hold_lateness_ns.value_at_quantile(0.99) as f64 * 1e-9),
        counts: measurement.map(|m| StationCounts {
            window_length: m.window_length_s,
            arrivals: m.arrivals,
            completions: m.completions,
            losses: m.losses,
            deadline_drops: m.deadline_drops,
        }),
        measured,
        predicted,
        relative_error,
    }
}

/// Returns the SCV that the model used for a distribution label.
fn scv_of(label: &str) -> f64 {
    match label {
        "exponential" => 1.0,
        "deterministic" => 0.0,
        other => other
            .strip_prefix("gamma(scv=")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|value| value.parse().ok())
            .unwrap_or(f64::NAN),
    }
}

/// Returns the station's mean dispatch delay in seconds, 0 when it reports none.
fn dispatch_delay_s(measurement: &StationMeasurement) -> f64 {
    if measurement.dispatch_delay_ns.is_empty() {
        0.0
    } else {
        mean_s(&measurement.dispatch_delay_ns)
    }
}

fn measured_figures(measurement: &StationMeasurement) -> StationFigures {
    let window = measurement.window_length_s;
    let service_mean = mean_s(&measurement.service_time_ns);
    let service_stdev = measurement.service_time_ns.stdev() * 1e-9;
    StationFigures {
        arrival_rate: measurement.arrivals as f64 / window,
        utilization: measurement.busy_server_s / (f64::from(measurement.servers.max(1)) * window),
        mean_waiting_time: mean_s(&measurement.waiting_time_ns),
        mean_sojourn_time: mean_s(&measurement.sojourn_time_ns),
        sojourn_time: quantiles_s(&measurement.sojourn_time_ns),
        mean_service_time: service_mean,
        service_time_scv: if service_mean > 0.0 {
            (service_stdev / service_mean).powi(2)
        } else {
            f64::NAN
        },
        sojourn_time_spectrum: spectrum_s(&measurement.sojourn_time_ns),
    }
}

fn compare_end_to_end(load: &LoadMeasurement, solution: &NetworkSolution) -> EndToEndComparison {
    let measured = (!load.latency_ns.is_empty()).then(|| ResponseFigures {
        mean_response_time: mean_s(&load.latency_ns),
        response_time: quantiles_s(&load.latency_ns),
        response_time_spectrum: spectrum_s(&load.latency_ns),
    });
    let predicted = solution
        .end_to_end
        .as_ref()
        .map(|end_to_end| ResponseFigures {
            mean_response_time: end_to_end.mean_response_time,
            response_time: end_to_end.response_time,
            response_time_spectrum: end_to_end.spectrum.clone(),
        });
    let relative_error = match (&measured, &predicted) {
        (Some(m), Some(p)) => Some(ResponseErrors {
            mean_response_time: relative(m.mean_response_time, p.mean_response_time),
            p50: relative(m.response_time.p50, p.response_time.p50),
            p90: relative(m.response_time.p90, p.response_time.p90),
            p99: relative(m.response_time.p99, p.response_time.p99),
        }),
        _ => None,
    };
    let method = match &solution.end_to_end {
        Some(end_to_end) => end_to_end.method.to_string(),
        None => "none: a station is unstable at the measured rate".to_owned(),
    };
    EndToEndComparison {
        measured,
        predicted,
        relative_error,
        method,
    }
}

/// Measures each call edge's overhead: caller latency minus callee handling time.
fn transport_overhead<'a>(
    topology: &Topology,
    measured: &impl Fn(&str) -> Option<&'a StationMeasurement>,
) -> TransportOverhead {
    let mut calls = Vec::new();
    for station in &topology.stations {
        let Some(caller) = measured(&station.name) else {
            continue;
        };
        for call in &caller.calls {
            let Some(callee) = measured(&call.to) else {
                continue;
            };
            let count = call.latency_ns.len();
            if count == 0 || callee.handling_time_ns.is_empty() {
                continue;
            }
            let mean_latency = mean_s(&call.latency_ns);
            let callee_mean_handling_time = mean_s(&callee.handling_time_ns);
            // With the overhead independent of the handling time, its variance
            // is the latency's variance minus the handling time's.
            let latency_variance = (call.latency_ns.stdev() * 1e-9).powi(2);
            let handling_variance = (callee.handling_time_ns.stdev() * 1e-9).powi(2);
            let failed = call
                .statuses
                .iter()
                .filter(|(code, _)| **code != 0)
                .map(|(_, n)| n)
                .sum();
            calls.push(CallOverhead {
                from: station.name.clone(),
                to: call.to.clone(),
                calls: count,
                failed,
                mean_latency,
                callee_mean_handling_time,
                overhead: (mean_latency - callee_mean_handling_time).max(0.0),
                overhead_stdev: (latency_variance - handling_variance).max(0.0).sqrt(),
            });
        }
    }
    let references: Vec<&CallOverhead> = calls.iter().collect();
    let (mean_per_call, stdev_per_call) = weighted_overhead(&references).unwrap_or((0.0, 0.0));
    TransportOverhead {
        mean_per_call,
        stdev_per_call,
        calls,
    }
}

/// Returns the mean and standard deviation of the overhead of a call drawn
/// from `calls` in proportion to their counts, or `None` without calls.
fn weighted_overhead(calls: &[&CallOverhead]) -> Option<(f64, f64)> {
    let total: u64 = calls.iter().map(|call| call.calls).sum();
    if total == 0 {
        return None;
    }
    let weight = |call: &CallOverhead| call.calls as f64 / total as f64;
    let mean: f64 = calls.iter().map(|call| weight(call) * call.overhead).sum();
    let second_moment: f64 = calls
        .iter()
        .map(|call| weight(call) * (call.overhead_stdev.powi(2) + call.overhead.powi(2)))
        .sum();
    Some((mean, (second_moment - mean * mean).max(0.0).sqrt()))
}

/// Returns the shape the model gives a transport overhead: a gamma
/// distribution with the measured mean and variance, or a constant when it
/// does not vary.
fn overhead_shape(mean_s: f64, stdev_s: f64) -> ServiceDistribution {
    let scv = if mean_s > 0.0 {
        (stdev_s / mean_s).powi(2)
    } else {
        0.0
    };
    if scv > 1e-6 {
        ServiceDistribution::Gamma { scv }
    } else {
        ServiceDistribution::Deterministic
    }
}

fn counts(load: &LoadMeasurement, stations: &[StationInput]) -> Counts {
    let errors = load
        .statuses
        .iter()
        .filter(|(code, count)| **code != 0 && **count > 0)
        .map(|(code, count)| (status_name(*code).to_owned(), *count))
        .collect::<BTreeMap<_, _>>();
    let measured = stations.iter().filter_map(|input| match input {
        StationInput::Measured(measurement) => Some(measurement),
        StationInput::Missing { .. } => None,
    });
    let (mut station_losses, mut deadline_drops) = (0, 0);
    for measurement in measured {
        station_losses += measurement.losses;
        deadline_drops += measurement.deadline_drops;
    }
    Counts {
        sent: load.sent,
        completed: load.completed,
        errors,
        dropped_by_cap: load.dropped_by_cap,
        station_losses,
        deadline_drops,
    }
}

/// Collects the indicators that fired at each station. Stations on one host
/// report the same host-wide indicator with the same message; such repeats
/// become one entry that names every station.
fn indicators(stations: &[StationInput]) -> Vec<StationIndicator> {
    let mut fired: Vec<StationIndicator> = Vec::new();
    for input in stations {
        let StationInput::Measured(measurement) = input else {
            continue;
        };
        let Some(agent) = &measurement.agent else {
            continue;
        };
        for indicator in &agent.indicators {
            let repeat = fired.iter_mut().find(|seen| {
                seen.indicator.name == indicator.name
                    && seen.indicator.subject == indicator.subject
                    && seen.indicator.message == indicator.message
            });
            match repeat {
                Some(seen) => {
                    seen.station.push_str(", ");
                    seen.station.push_str(&measurement.name);
                }
                None => fired.push(StationIndicator {
                    station: measurement.name.clone(),
                    indicator: indicator.clone(),
                }),
            }
        }
    }
    fired.sort_by_key(|fired| std::cmp::Reverse(fired.indicator.severity));
    fired
}

fn assumptions(topology: &Topology) -> Vec<String> {
    let mut list = vec![
        "external arrivals are Poisson at the measured rate".to_owned(),
        "each station is an M/M/c FCFS queue (M/M/c/K with a capacity, M/G/1 or Allen–Cunneen M/G/c for \
         non-exponential service), solved independently with the arrival rate from the traffic equations \
         (Jackson / Kleinrock independence)"
            .to_owned(),
        "a visit makes its calls one after another, each independently with its probability".to_owned(),
        "each call adds a transport overhead drawn from a gamma distribution with the measured mean and \
         variance of the calls into that station (the mix of all measured calls for a station without \
         measured callers, as for the load generator's call into the entry)"
            .to_owned(),
        "end-to-end quantiles are those of the random sum of sojourn times over the call tree".to_owned(),
        "each predicted waiting and sojourn time includes the station's measured mean dispatch delay \
         (arrival to the station thread taking the request in), a constant of the emulation that an \
         M/M/c queue does not have"
            .to_owned(),
    ];
    if topology
        .stations
        .iter()
        .any(|station| station.capacity.is_some())
    {
        list.push(
            "stations with a capacity lose requests, but downstream rates use offered loads"
                .to_owned(),
        );
    }
    list
}

/// (measured − predicted) / predicted; NaN when the prediction is 0.
fn relative(measured: f64, predicted: f64) -> f64 {
    (measured - predicted) / predicted
}

fn mean_s(histogram: &Histogram<u64>) -> f64 {
    if histogram.is_empty() {
        f64::NAN
    } else {
        histogram.mean() * 1e-9
    }
}

fn quantiles_s(histogram: &Histogram<u64>) -> Quantiles {
    Quantiles::from_fn(|q| {
        if histogram.is_empty() {
            f64::NAN
        } else {
            histogram.value_at_quantile(q) as f64 * 1e-9
        }
    })
}

/// Spectrum points that the sample size supports: levels with at least one
/// observation above them.
fn spectrum_s(histogram: &Histogram<u64>) -> Vec<QuantilePoint> {
    let count = histogram.len() as f64;
    spectrum_levels()
        .into_iter()
        .filter(|level| count * (1.0 - level) >= 1.0)
        .map(|level| QuantilePoint {
            level,
            seconds: histogram.value_at_quantile(level) as f64 * 1e-9,
        })
        .collect()
}

/// Returns the canonical name of a gRPC status code.
pub fn status_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNRECOGNIZED",
    }
}

/// Predicts the mean and p99 end-to-end response time at `points` external
/// rates evenly spread up to 98 % of the largest stable rate, with
/// `overhead_per_call_s` added to every call.
pub fn predicted_sweep(
    topology: &Topology,
    overhead_per_call_s: f64,
    points: usize,
) -> Result<Vec<crate::render::SweepPoint>, AnalysisError> {
    let mut network = topology.to_network()?;
    for index in 0..topology.stations.len() {
        network.set_transport_overhead(index, overhead_per_call_s)?;
    }
    let max_rate = network
        .solve(&ResponseOptions::default())?
        .max_external_rate;

    let mut curve = Vec::with_capacity(points);
    for step in 1..=points {
        let rate = 0.98 * max_rate * step as f64 / points as f64;
        let solution = network
            .with_external_rate(rate)?
            .solve(&ResponseOptions::default())?;
        if let Some(end_to_end) = solution.end_to_end {
            curve.push(crate::render::SweepPoint {
                rate,
                mean_response_time: end_to_end.mean_response_time,
                p99_response_time: end_to_end.response_time.p99,
            });
        }
    }
    Ok(curve)
}
