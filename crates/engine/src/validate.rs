//! Argument checks shared by the models.

use crate::error::ModelError;

/// Checks that a rate is finite and greater than 0.
pub(crate) fn check_rate(name: &'static str, value: f64) -> Result<(), ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidRate { name, value })
    }
}

/// Checks that a duration in seconds is finite and greater than 0.
pub(crate) fn check_duration(name: &'static str, value: f64) -> Result<(), ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidDuration { name, value })
    }
}

/// Checks that there is at least one server.
pub(crate) fn check_servers(servers: u64) -> Result<(), ModelError> {
    if servers == 0 {
        Err(ModelError::NoServers)
    } else {
        Ok(())
    }
}

/// Checks a squared coefficient of variation: finite and at least 0.
pub(crate) fn check_scv(value: f64) -> Result<(), ModelError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidScv { value })
    }
}
