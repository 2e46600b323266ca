//! Parsers for flag values, so clap reports bad values with exit status 2.

use queuelab_topology::parse_duration_s;

/// Parses a rate in requests per second: a finite number greater than 0.
pub fn positive_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| {
        format!("invalid rate {text:?}: write requests per second as a number, for example 1000")
    })?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "invalid rate {text:?}: it must be greater than 0 requests per second"
        ))
    }
}

/// Parses a positive finite factor, such as a load multiple.
pub fn positive_factor(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid number {text:?}: write a decimal number such as 1.5"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "invalid factor {text:?}: it must be greater than 0"
        ))
    }
}

/// Parses a utilization strictly between 0 and 1, given as 0.7 or 70%.
pub fn utilization(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let value = match trimmed.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => trimmed.parse::<f64>(),
    }
    .map_err(|_| format!("invalid utilization {text:?}: write a share such as 0.7 or 70%"))?;
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(format!(
            "invalid utilization {text:?}: it must lie strictly between 0 and 1 (0 % and 100 %)"
        ))
    }
}

/// Parses a duration with a unit (`2.5ms`, `800us`) into seconds greater than 0.
pub fn positive_duration_s(text: &str) -> Result<f64, String> {
    let seconds = parse_duration_s(text).map_err(|error| error.to_string())?;
    if seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(format!(
            "invalid duration {text:?}: it must be greater than 0"
        ))
    }
}

/// Parses a finite number of at least 0, such as a squared coefficient of variation.
pub fn non_negative(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid number {text:?}: write a decimal number such as 0.5"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "invalid value {text:?}: it must be a finite number of at least 0"
        ))
    }
}
