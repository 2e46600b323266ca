//! The `queuelab.v1.Analysis` gRPC service.

use std::collections::BTreeMap;
use std::sync::Arc;

use hdrhistogram::Histogram;
use queuelab_analysis::{LoadMeasurement, StationInput, compare, decode_histogram, render};
use queuelab_proto::v1::analysis_server::Analysis;
use queuelab_proto::v1::{
    ExperimentReport, FinishExperimentRequest, GetReportRequest, LoadFigures, MissingStation,
    StartExperimentReply, StartExperimentRequest,
};
use queuelab_topology::Topology;
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

use crate::collect::{end_windows, start_windows, status_map};

/// Settings of the service: the topology and the address of each station.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// The topology the mesh runs, and the model compares against.
    pub topology: Topology,
    /// Origin of the topology, for the report.
    pub topology_origin: String,
    /// Station name to `host:port` of its stats API.
    pub stations: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    /// The open experiment's id, and the stations that failed to start it.
    open: Option<(u64, BTreeMap<String, String>)>,
    last_report: Option<ExperimentReport>,
}

/// The analysis service; one experiment at a time.
#[derive(Debug, Clone)]
pub struct AnalysisService {
    config: Arc<AnalysisConfig>,
    state: Arc<Mutex<State>>,
}

impl AnalysisService {
    /// Creates the service for `config`.
    pub fn new(config: AnalysisConfig) -> Self {
        Self {
            config: Arc::new(config),
            state: Arc::default(),
        }
    }
}

/// Turns the load generator's figures into a measurement; a bad histogram
/// leaves the latency empty and returns the error beside it.
fn load_measurement(load: &LoadFigures) -> (LoadMeasurement, Option<String>) {
    let (latency_ns, error) =
        match decode_histogram(&load.latency_ns, "load generator", "latency_ns") {
            Ok(histogram) => (histogram, None),
            Err(error) => (
                Histogram::new(3).expect("3 significant digits are valid"),
                Some(error.to_string()),
            ),
        };
    let measurement = LoadMeasurement {
        window_length_s: load.window_length_ns as f64 * 1e-9,
        sent: load.sent,
        completed: load.completed,
        statuses: status_map(&load.statuses),
        dropped_by_cap: load.dropped_by_cap,
        latency_ns,
    };
    (measurement, error)
}

#[tonic::async_trait]
impl Analysis for AnalysisService {
    async fn start_experiment(
        &self,
        request: Request<StartExperimentRequest>,
    ) -> Result<Response<StartExperimentReply>, Status> {
        let experiment_id = request.into_inner().experiment_id;
        let mut state = self.state.lock().await;
        if let Some((open, _)) = &state.open {
            return Err(Status::already_exists(format!(
                "experiment {open} is still open; finish it with FinishExperiment first"
            )));
        }

        let failed = start_windows(&self.config.stations, experiment_id).await;
        let started = self
            .config
            .stations
            .keys()
            .filter(|name| !failed.contains_key(*name))
            .cloned()
            .collect();
        let missing = failed
            .iter()
            .map(|(station, reason)| MissingStation {
                station: station.clone(),
                reason: reason.clone(),
            })
            .collect();
        tracing::info!(experiment_id, missing = failed.len(), "experiment started");
        state.open = Some((experiment_id, failed));
        Ok(Response::new(StartExperimentReply {
            experiment_id,
            started,
            missing,
        }))
    }

    async fn finish_experiment(
        &self,
        request: Request<FinishExperimentRequest>,
    ) -> Result<Response<ExperimentReport>, Status> {
        let request = request.into_inner();
        let mut state = self.state.lock().await;
        let Some((open_id, failed_at_start)) = state.open.take() else {
            return Err(Status::failed_precondition(
                "no experiment is open; call StartExperiment first",
            ));
        };
        if open_id != request.experiment_id {
            let message = format!(
                "experiment {} is not open (experiment {open_id} is); finish the open one",
                request.experiment_id
            );
            state.open = Some((open_id, failed_at_start));
            return Err(Status::failed_precondition(message));
        }

        let mut inputs = end_windows(&self.config.stations).await;
        for input in &mut inputs {
            if let Some(reason) = failed_at_start.get(input.name()) {
                // A window opened late, or never, does not cover the experiment.
                *input = StationInput::Missing {
                    name: input.name().to_owned(),
                    reason: format!("its window did not open at the start: {reason}"),
                };
            }
        }

        let load = request.load.unwrap_or_default();
        let (load, load_error) = load_measurement(&load);
        let report = compare(
            &self.config.topology,
            &self.config.topology_origin,
            &load,
            &inputs,
        )
        .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let reply = ExperimentReport {
            experiment_id: open_id,
            report_json: serde_json::to_string_pretty(&report).map_err(|error| {
                Status::internal(format!("failed to encode the report: {error}"))
            })?,
            table: render::table(&report),
            html: render::html(&report, None),
        };
        tracing::info!(experiment_id = open_id, "experiment finished");
        state.last_report = Some(reply.clone());

        match load_error {
            Some(error) => {
                tracing::warn!(experiment_id = open_id, %error, "load generator figures rejected");
                Err(Status::invalid_argument(format!(
                    "{error}; the report was built without measured end-to-end figures (GetReport returns it)"
                )))
            }
            None => Ok(Response::new(reply)),
        }
    }

    async fn get_report(
        &self,
        _request: Request<GetReportRequest>,
    ) -> Result<Response<ExperimentReport>, Status> {
        let state = self.state.lock().await;
        state.last_report.clone().map(Response::new).ok_or_else(|| {
            Status::not_found(
                "no experiment has finished yet; run StartExperiment and FinishExperiment",
            )
        })
    }
}
