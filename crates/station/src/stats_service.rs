//! The `queuelab.v1.StationStats` gRPC service: measurement windows.

use queuelab_proto::v1::station_stats_server::StationStats;
use queuelab_proto::v1::{
    EndWindowRequest, GetWindowRequest, StartWindowReply, StartWindowRequest, WindowFigures,
};
use tonic::{Request, Response, Status};

use crate::station::Station;

/// Serves the window figures of one station.
#[derive(Debug, Clone)]
pub struct StatsService {
    station: Station,
}

impl StatsService {
    /// Serves the figures of `station`.
    pub fn new(station: Station) -> Self {
        Self { station }
    }

    fn stopped(&self) -> Status {
        Status::unavailable(format!("station {} is shutting down", self.station.name()))
    }
}

#[tonic::async_trait]
impl StationStats for StatsService {
    async fn start_window(
        &self,
        request: Request<StartWindowRequest>,
    ) -> Result<Response<StartWindowReply>, Status> {
        let window_id = request.into_inner().window_id;
        if !self.station.start_window(window_id).await {
            return Err(self.stopped());
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
        let figures = self.station.end_window().await.ok_or_else(|| {
            Status::failed_precondition(format!(
                "station {} has no open measurement window; call StartWindow first",
                self.station.name()
            ))
        })?;
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
        let figures = self.station.current_window().await.ok_or_else(|| {
            Status::failed_precondition(format!(
                "station {} has never started a measurement window; call StartWindow first",
                self.station.name()
            ))
        })?;
        Ok(Response::new(figures))
    }
}
