//! Durations written with a unit, as in `2.5ms`, `800us` or `30s`.

/// A duration string that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: write a non-negative number followed by a unit, one of ns, us \
     (or µs), ms, s, m, h, for example 2.5ms or 30s"
)]
pub struct DurationError {
    /// The text given.
    pub input: String,
}

/// Parses a duration with a unit into seconds.
///
/// The number may have a fraction; the units are `ns`, `us` or `µs`, `ms`,
/// `s`, `m` (minutes) and `h`. A bare number without a unit is rejected,
/// because its unit would be a guess.
pub fn parse_duration_s(input: &str) -> Result<f64, DurationError> {
    let error = || DurationError {
        input: input.to_owned(),
    };
    let text = input.trim();
    let split = text
        .find(|ch: char| {
            !(ch.is_ascii_digit() || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-')
        })
        .ok_or_else(error)?;
    let (number, unit) = text.split_at(split);

    // The number may carry an exponent, as in "1e3ms".
    let value: f64 = number.parse().map_err(|_| error())?;
    // Dividing by the exact power of ten keeps "800us" equal to the literal 0.0008.
    let seconds = match unit.trim() {
        "ns" => value / 1e9,
        "us" | "µs" | "μs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(error()),
    };
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(seconds)
    } else {
        Err(error())
    }
}

/// Formats seconds with the unit that reads best: ns, µs, ms or s.
pub fn format_duration_s(seconds: f64) -> String {
    let magnitude = seconds.abs();
    if !seconds.is_finite() {
        format!("{seconds}")
    } else if magnitude == 0.0 {
        "0 s".to_owned()
    } else if magnitude < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else if magnitude < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if magnitude < 1.0 {
        format!("{:.3} ms", seconds * 1e3)
    } else {
        format!("{seconds:.3} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_units() {
        assert_eq!(parse_duration_s("2.5ms").unwrap(), 0.0025);
        assert_eq!(parse_duration_s("800us").unwrap(), 0.0008);
        assert_eq!(parse_duration_s("800µs").unwrap(), 0.0008);
        assert_eq!(parse_duration_s("30s").unwrap(), 30.0);
        assert_eq!(parse_duration_s("2m").unwrap(), 120.0);
        assert_eq!(parse_duration_s("1h").unwrap(), 3600.0);
        assert_eq!(parse_duration_s("250ns").unwrap(), 250e-9);
        assert_eq!(parse_duration_s(" 1.5 s ").unwrap(), 1.5);
    }

    #[test]
    fn parse_duration_rejects_bad_text() {
        for bad in ["", "5", "ms", "-1ms", "1.2.3ms", "3 parsecs", "nanms"] {
            assert!(parse_duration_s(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn format_duration_picks_unit() {
        assert_eq!(format_duration_s(0.002), "2.000 ms");
        assert_eq!(format_duration_s(0.0000125), "12.5 µs");
        assert_eq!(format_duration_s(3.0), "3.000 s");
    }
}
