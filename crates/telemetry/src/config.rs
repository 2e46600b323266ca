//! When and where telemetry is exported, from the standard OpenTelemetry
//! environment variables or set explicitly.

use std::time::Duration;

/// The variable whose presence turns export on: the collector's OTLP/gRPC
/// address, such as `http://127.0.0.1:4317`.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Set to `true` (any case) to turn export off even when [`ENDPOINT_VAR`]
/// is set.
pub const SDK_DISABLED_VAR: &str = "OTEL_SDK_DISABLED";

/// Time that dropping the [`crate::Guard`] allows for flushing spans and
/// metrics, so that a process whose collector is down still exits promptly.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Export settings: the default service name, the collector endpoint and
/// the timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `service.name` used unless `OTEL_SERVICE_NAME` or a `service.name`
    /// entry in `OTEL_RESOURCE_ATTRIBUTES` sets another one.
    pub default_service_name: String,
    /// OTLP/gRPC endpoint of the collector; `None` turns export off, so that
    /// no exporter is built and the request path only checks a flag.
    pub endpoint: Option<String>,
    /// Interval between metric exports; `None` takes
    /// `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds), else 60 s.
    pub metric_interval: Option<Duration>,
    /// Time allowed to flush at shutdown.
    pub shutdown_timeout: Duration,
}

impl TelemetryConfig {
    /// Reads [`ENDPOINT_VAR`] and [`SDK_DISABLED_VAR`]; the other standard
    /// variables (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_HEADERS`,
    /// `OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`) are read by the
    /// OpenTelemetry SDK and exporter when the pipeline is built.
    pub fn from_env(default_service_name: &str) -> Self {
        Self::from_variables(default_service_name, |name| std::env::var(name).ok())
    }

    /// Reads the variables of [`Self::from_env`] through `variable`, which
    /// returns the value of the environment variable it is given.
    pub fn from_variables(
        default_service_name: &str,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let disabled = variable(SDK_DISABLED_VAR)
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        let endpoint = variable(ENDPOINT_VAR)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty() && !disabled);
        Self {
            endpoint,
            ..Self::disabled(default_service_name)
        }
    }

    /// Builds a config that exports nothing.
    pub fn disabled(default_service_name: &str) -> Self {
        Self {
            default_service_name: default_service_name.to_owned(),
            endpoint: None,
            metric_interval: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// Builds a config that exports to `endpoint` and ignores
    /// [`ENDPOINT_VAR`] and [`SDK_DISABLED_VAR`]; for tests and embedding.
    pub fn with_endpoint(default_service_name: &str, endpoint: &str) -> Self {
        Self {
            endpoint: Some(endpoint.to_owned()),
            ..Self::disabled(default_service_name)
        }
    }

    /// Returns true when the environment names a service: a non-empty
    /// `OTEL_SERVICE_NAME`, or a `service.name` entry in
    /// `OTEL_RESOURCE_ATTRIBUTES`. The SDK's resource detectors read those,
    /// so the default name must not override them.
    pub(crate) fn environment_names_service(variable: impl Fn(&str) -> Option<String>) -> bool {
        let named = variable("OTEL_SERVICE_NAME").is_some_and(|name| !name.trim().is_empty());
        let in_attributes = variable("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|attributes| {
            attributes
                .split(',')
                .any(|entry| entry.trim_start().starts_with("service.name="))
        });
        named || in_attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_has_no_endpoint() {
        let config = TelemetryConfig::disabled("queuelab-user");
        assert_eq!(config.endpoint, None);
        assert_eq!(config.default_service_name, "queuelab-user");
        assert_eq!(config.shutdown_timeout, Duration::from_secs(2));
    }

    fn variables(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn endpoint_variable_turns_export_on() {
        let config = TelemetryConfig::from_variables(
            "queuelab-user",
            variables(&[(ENDPOINT_VAR, " http://collector:4317 ")]),
        );
        assert_eq!(config.endpoint.as_deref(), Some("http://collector:4317"));
    }

    #[test]
    fn missing_or_empty_endpoint_is_off() {
        let missing = TelemetryConfig::from_variables("queuelab-user", variables(&[]));
        assert_eq!(missing.endpoint, None);

        let empty =
            TelemetryConfig::from_variables("queuelab-user", variables(&[(ENDPOINT_VAR, "  ")]));
        assert_eq!(empty.endpoint, None);
    }

    #[test]
    fn sdk_disabled_overrides_endpoint() {
        for disabled in ["true", "TRUE", " True "] {
            let config = TelemetryConfig::from_variables(
                "queuelab-user",
                variables(&[
                    (ENDPOINT_VAR, "http://collector:4317"),
                    (SDK_DISABLED_VAR, disabled),
                ]),
            );
            assert_eq!(config.endpoint, None, "{SDK_DISABLED_VAR}={disabled:?}");
        }

        let not_disabled = TelemetryConfig::from_variables(
            "queuelab-user",
            variables(&[
                (ENDPOINT_VAR, "http://collector:4317"),
                (SDK_DISABLED_VAR, "false"),
            ]),
        );
        assert!(not_disabled.endpoint.is_some());
    }

    #[test]
    fn service_name_from_environment() {
        let names_service = TelemetryConfig::environment_names_service;
        assert!(!names_service(variables(&[])));
        assert!(!names_service(variables(&[("OTEL_SERVICE_NAME", " ")])));
        assert!(names_service(variables(&[("OTEL_SERVICE_NAME", "user")])));
        assert!(names_service(variables(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=lab, service.name=user"
        )])));
        assert!(!names_service(variables(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.namespace=queuelab"
        )])));
    }

    #[test]
    fn with_endpoint_keeps_address() {
        let config = TelemetryConfig::with_endpoint("queuelab-loadgen", "http://127.0.0.1:4317");
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:4317"));
        assert_eq!(config.default_service_name, "queuelab-loadgen");
    }
}
