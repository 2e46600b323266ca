//! The `queuelab.v1.StationStats` gRPC service: measurement windows.

use queuelab_proto::v1::station_stats_server::StationStats;
use queuelab_proto::v1::{
    EndWindowRequest, GetWindowRequest, StartWindowReply, StartWindowRequest, WindowFigures,
};
use std::sync::Arc;

use queuelab_agent::SamplerHandle;
use tonic::{Request, Response, Status};

use crate::station::Station;

/// Serves the window figures of one station.
#[derive(Debug, Clone)]
pub struct StatsService {
    station: Station,
    /// The sampler of this process's CPU, memory and I/O, whose windows follow the station's.
    agent: Option<Arc<SamplerHandle>>,
}

impl StatsService {
    /// Serves the figures of `station`, without an agent.
    pub fn new(station: Station) -> Self {
        Self {
            station,
            agent: None,
        }
    }

    /// Serves the figures of `station` with the agent's report of each window.
    pub fn with_agent(station: Station, agent: Option<Arc<SamplerHandle>>) -> Self {
        Self { station, agent }
    }
}

#[tonic::async_trait]
impl StationStats for StatsService {
    async fn start_window(
        &self,
        request: Request<StartWindowRequest>,
    ) -> Result<Response<StartWindowReply>, Status> {
        let window_id = request.into_inner().window_id;
        self.station.start_window(window_id);
        if let Some(agent) = &self.agent {
            agent.start_window();
        }
        tracing::info!(
            station = self.station.name(),
            window_id,
            "measurement window started"
        );
        Ok(Response::new(StartWindowReply {
            station: self.station.name().to_owned(),
            window_id,
        }))
    }

    async fn end_window(
        &self,
        _request: Request<EndWindowRequest>,
    ) -> Result<Response<WindowFigures>, Status> {
        let mut figures = self.station.end_window().ok_or_else(|| {
            Status::failed_precondition(format!(
                "station {} has no open measurement window; call StartWindow first",
                self.station.name()
            ))
        })?;
        if let Some(report) = self.agent.as_ref().and_then(|agent| agent.end_window()) {
            match serde_json::to_string(&report) {
                Ok(json) => figures.agent_report_json = json,
                Err(error) => tracing::warn!(
                    station = self.station.name(),
                    %error,
                    "failed to encode the agent report; the window has none"
                ),
            }
        }
        tracing::info!(
            station = self.station.name(),
            window_id = figures.window_id,
            arrivals = figures.arrivals,
            "measurement window ended"
        );
        Ok(Response::new(figures))
    }

    async fn get_window(
        &self,
        _request: Request<GetWindowRequest>,
    ) -> Result<Response<WindowFigures>, Status> {
        let figures = self.station.current_window().ok_or_else(|| {
            Status::failed_precondition(format!(
                "station {} has never started a measurement window; call StartWindow first",
                self.station.name()
            ))
        })?;
        Ok(Response::new(figures))
    }
}
