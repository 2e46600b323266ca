//! Talking to the stations: opening and closing their measurement windows,
//! and turning their figures into measurements.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use queuelab_analysis::{
    CallMeasurement, HistogramError, StationInput, StationMeasurement, decode_histogram,
};
use queuelab_proto::v1::station_stats_client::StationStatsClient;
use queuelab_proto::v1::{EndWindowRequest, StartWindowRequest, StatusCount, WindowFigures};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

/// Time one station may take to connect and reply before it counts as missing.
pub const STATION_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to the stats API at `address` (`host:port`).
async fn connect(address: &str) -> Result<StationStatsClient<Channel>, String> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|error| format!("invalid address {address}: {error}"))?
        .connect_timeout(STATION_TIMEOUT)
        .timeout(STATION_TIMEOUT);
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| format!("failed to connect to {address}: {error}"))?;
    Ok(StationStatsClient::new(channel))
}

/// Opens window `window_id` on every station; returns the stations that
/// failed, with the reason.
pub async fn start_windows(
    stations: &BTreeMap<String, String>,
    window_id: u64,
) -> BTreeMap<String, String> {
    let mut tasks = JoinSet::new();
    for (name, address) in stations {
        let (name, address) = (name.clone(), address.clone());
        tasks.spawn(async move {
            let result = async {
                let mut client = connect(&address).await?;
                client
                    .start_window(StartWindowRequest { window_id })
                    .await
                    .map_err(|status| {
                        format!("StartWindow at {address} failed: {}", status.message())
                    })?;
                Ok::<(), String>(())
            }
            .await;
            (name, result)
        });
    }

    let mut failed = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((name, result)) = joined else { continue };
        if let Err(reason) = result {
            tracing::warn!(station = %name, %reason, "station did not open its measurement window");
            failed.insert(name, reason);
        }
    }
    failed
}

/// Closes the window on every station and collects its figures; a station
/// that fails, or sends a corrupt histogram, becomes [`StationInput::Missing`].
pub async fn end_windows(stations: &BTreeMap<String, String>) -> Vec<StationInput> {
    let mut tasks = JoinSet::new();
    for (name, address) in stations {
        let (name, address) = (name.clone(), address.clone());
        tasks.spawn(async move {
            let result = async {
                let mut client = connect(&address).await?;
                let figures = client
                    .end_window(EndWindowRequest {})
                    .await
                    .map_err(|status| {
                        format!("EndWindow at {address} failed: {}", status.message())
                    })?
                    .into_inner();
                measurement_from(&name, figures)
                    .map_err(|error| format!("INVALID_ARGUMENT: {error}"))
            }
            .await;
            (name, result)
        });
    }

    let mut inputs = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((name, result)) = joined else { continue };
        match result {
            Ok(measurement) => inputs.push(StationInput::Measured(Box::new(measurement))),
            Err(reason) => {
                tracing::warn!(station = %name, %reason, "station figures missing from the report");
                inputs.push(StationInput::Missing { name, reason });
            }
        }
    }
    inputs
}

/// Converts status counts to a map from code to count.
pub fn status_map(counts: &[StatusCount]) -> BTreeMap<i32, u64> {
    let mut map = BTreeMap::new();
    for count in counts {
        *map.entry(count.code).or_insert(0) += count.count;
    }
    map
}

/// Decodes one station's window figures.
pub fn measurement_from(
    name: &str,
    figures: WindowFigures,
) -> Result<StationMeasurement, HistogramError> {
    let decode = |bytes: &[u8], field: &str| decode_histogram(bytes, name, field);
    // A station that does not report an optional figure sends no bytes.
    let decode_optional = |bytes: &[u8], field: &str| {
        if bytes.is_empty() {
            Ok(Histogram::new(3).expect("3 significant digits are valid"))
        } else {
            decode(bytes, field)
        }
    };
    let calls = figures
        .calls
        .iter()
        .map(|call| {
            Ok(CallMeasurement {
                to: call.to.clone(),
                latency_ns: decode(&call.latency_ns, &format!("calls[{}].latency_ns", call.to))?,
                statuses: status_map(&call.statuses),
            })
        })
        .collect::<Result<Vec<_>, HistogramError>>()?;
    let agent = if figures.agent_report_json.is_empty() {
        None
    } else {
        match serde_json::from_str(&figures.agent_report_json) {
            Ok(report) => Some(report),
            Err(error) => {
                tracing::warn!(station = %name, %error, "agent report is not valid JSON; ignoring it");
                None
            }
        }
    };

    Ok(StationMeasurement {
        name: name.to_owned(),
        servers: figures.servers,
        window_length_s: figures.window_length_ns as f64 * 1e-9,
        arrivals: figures.arrivals,
        completions: figures.completions,
        losses: figures.losses,
        deadline_drops: figures.deadline_drops,
        busy_server_s: figures.busy_server_ns as f64 * 1e-9,
        waiting_time_ns: decode(&figures.waiting_time_ns, "waiting_time_ns")?,
        service_time_ns: decode(&figures.service_time_ns, "service_time_ns")?,
        sojourn_time_ns: decode(&figures.sojourn_time_ns, "sojourn_time_ns")?,
        handling_time_ns: decode(&figures.handling_time_ns, "handling_time_ns")?,
        dispatch_delay_ns: decode_optional(&figures.dispatch_delay_ns, "dispatch_delay_ns")?,
        hold_lateness_ns: decode_optional(&figures.hold_lateness_ns, "hold_lateness_ns")?,
        calls,
        agent,
    })
}
