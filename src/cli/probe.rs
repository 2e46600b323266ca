//! `queuelab probe HOST:PORT`: one grpc.health.v1 Check, for container health
//! checks. The image contains no gRPC health client, so Docker runs this
//! binary itself.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::InputError;
use super::values::positive_duration_s;

/// Flags of `queuelab probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Server to check, as host:port, e.g. 127.0.0.1:50051.
    #[arg(value_name = "HOST:PORT")]
    address: String,

    /// Service name to check. The empty default checks the whole server.
    #[arg(long, default_value = "")]
    service: String,

    /// Time allowed for connecting and for the Check call, each, with a unit.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = positive_duration_s)]
    timeout: f64,
}

/// Runs `queuelab probe`: exits 0 when the server reports SERVING, 1 when it
/// reports anything else or cannot be reached in time, 2 for an invalid address.
pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::from_secs_f64(args.timeout);
    let endpoint = Endpoint::from_shared(format!("http://{}", args.address))
        .map_err(|_| {
            InputError(format!(
                "invalid address {:?}: use HOST:PORT, e.g. 127.0.0.1:50051",
                args.address
            ))
        })?
        .connect_timeout(timeout)
        .timeout(timeout);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the tokio runtime")?;
    let status = runtime.block_on(check(endpoint, &args.service, timeout));

    match status {
        Ok(ServingStatus::Serving) => {
            println!("{}: SERVING", args.address);
            Ok(ExitCode::SUCCESS)
        }
        Ok(status) => {
            eprintln!("{}: {}", args.address, status.as_str_name());
            Ok(ExitCode::from(1))
        }
        Err(reason) => {
            eprintln!("{}: health check failed: {reason}", args.address);
            Ok(ExitCode::from(1))
        }
    }
}

/// Connects and sends one Check. The whole exchange is bounded by twice `timeout`.
async fn check(
    endpoint: Endpoint,
    service: &str,
    timeout: Duration,
) -> Result<ServingStatus, String> {
    let exchange = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| format!("failed to connect: {}", error_chain(&error)))?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
        let code = reply.into_inner().status;
        ServingStatus::try_from(code).map_err(|_| format!("unknown serving status {code}"))
    };
    tokio::time::timeout(timeout * 2, exchange)
        .await
        .map_err(|_| format!("timed out after {:.1} s", (timeout * 2).as_secs_f64()))?
}

/// Formats an error with its sources, because tonic's connect error alone
/// reads only "transport error".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
