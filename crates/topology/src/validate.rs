//! Checks that turn the raw file into a [`Topology`], with line numbers.

use std::collections::HashMap;

use queuelab_engine::ServiceDistribution;
use toml::Spanned;

use crate::duration::parse_duration_s;
use crate::error::TopologyError;
use crate::file::{RawArrival, RawCall, RawStation, RawTopology};
use crate::{Arrival, Call, Station, Topology};

/// Parses `text` and checks every value; `origin` names the file in errors.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Topology, TopologyError> {
    let raw: RawTopology = toml::from_str(text).map_err(|error| {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_and_column(text, span.start));
        TopologyError::Syntax {
            origin: origin.to_owned(),
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    })?;
    let checker = Checker { text, origin };

    if raw.station.is_empty() {
        return Err(checker.whole_file(
            "the topology has no stations: add at least one [[station]] table with a name, servers and service_rate",
        ));
    }

    let mut stations = Vec::with_capacity(raw.station.len());
    let mut lines_by_name: HashMap<&str, usize> = HashMap::new();
    for raw_station in &raw.station {
        let station = checker.station(raw_station)?;
        let line = checker.line_of(&raw_station.name);
        if let Some(first) = lines_by_name.insert(raw_station.name.get_ref(), line) {
            return Err(checker.invalid(
                &raw_station.name,
                format!(
                    "duplicate station name {:?}, first defined on line {first}: give each station a unique name",
                    station.name
                ),
            ));
        }
        stations.push(station);
    }

    if raw.arrival.is_empty() {
        return Err(checker.whole_file(
            "the topology has no external arrivals: add an [[arrival]] table with a station and a rate per second",
        ));
    }

    let known = |name: &Spanned<String>| -> Result<String, TopologyError> {
        if lines_by_name.contains_key(name.get_ref().as_str()) {
            Ok(name.get_ref().clone())
        } else {
            let names: Vec<&str> = raw
                .station
                .iter()
                .map(|s| s.name.get_ref().as_str())
                .collect();
            Err(checker.invalid(
                name,
                format!(
                    "unknown station {:?}: use one of the stations defined, {names:?}",
                    name.get_ref()
                ),
            ))
        }
    };

    let calls = raw
        .call
        .iter()
        .map(|call| checker.call(call, &known))
        .collect::<Result<Vec<_>, _>>()?;
    let arrivals = raw
        .arrival
        .iter()
        .map(|arrival| checker.arrival(arrival, &known))
        .collect::<Result<Vec<_>, _>>()?;

    let topology = Topology {
        stations,
        calls,
        arrivals,
    };
    checker.check_cycles(&topology, &raw.call)?;
    Ok(topology)
}

/// The file being checked, for error positions.
struct Checker<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Checker<'_> {
    fn line_of<T>(&self, value: &Spanned<T>) -> usize {
        line_and_column(self.text, value.span().start).0
    }

    fn invalid<T>(&self, at: &Spanned<T>, message: String) -> TopologyError {
        TopologyError::Invalid {
            origin: self.origin.to_owned(),
            line: self.line_of(at),
            message,
        }
    }

    fn whole_file(&self, message: &str) -> TopologyError {
        TopologyError::Invalid {
            origin: self.origin.to_owned(),
            line: 1,
            message: message.to_owned(),
        }
    }

    fn station(&self, raw: &RawStation) -> Result<Station, TopologyError> {
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.invalid(
                &raw.name,
                "empty station name: give the station a name".into(),
            ));
        }

        let servers = *raw.servers.get_ref();
        if servers < 1 || servers > i64::from(u32::MAX) {
            return Err(self.invalid(
                &raw.servers,
                format!("invalid servers = {servers} for station {name:?}: it must be a whole number of at least 1"),
            ));
        }

        let service_rate = match (&raw.service_rate, &raw.mean_service_time) {
            (Some(rate), None) => {
                let value = *rate.get_ref();
                if !(value.is_finite() && value > 0.0) {
                    return Err(self.invalid(
                        rate,
                        format!(
                            "invalid service_rate = {value} for station {name:?}: it must be a number of \
                             requests per second greater than 0"
                        ),
                    ));
                }
                value
            }
            (None, Some(mean)) => {
                let seconds = parse_duration_s(mean.get_ref())
                    .map_err(|error| self.invalid(mean, error.to_string()))?;
                if seconds <= 0.0 {
                    return Err(self.invalid(
                        mean,
                        format!("invalid mean_service_time for station {name:?}: it must be greater than 0"),
                    ));
                }
                1.0 / seconds
            }
            (Some(rate), Some(_)) => {
                return Err(self.invalid(
                    rate,
                    format!("station {name:?} sets both service_rate and mean_service_time: keep one of them"),
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    &raw.name,
                    format!(
                        "station {name:?} has no service rate: add service_rate (per second) or \
                         mean_service_time (for example \"1.25ms\")"
                    ),
                ));
            }
        };

        let distribution = self.distribution(raw, &name)?;

        let capacity = match &raw.capacity {
            None => None,
            Some(capacity) => {
                let value = *capacity.get_ref();
                if value < servers || value > i64::from(u32::MAX) {
                    return Err(self.invalid(
                        capacity,
                        format!(
                            "invalid capacity = {value} for station {name:?}: K counts the requests waiting and \
                             in service, so it must be at least servers = {servers}"
                        ),
                    ));
                }
                Some(value as u32)
            }
        };

        let address = match &raw.address {
            None => None,
            Some(address) => {
                let text = address.get_ref();
                let port = text.rsplit_once(':').and_then(|(host, port)| {
                    (!host.is_empty())
                        .then_some(port.parse::<u16>().ok())
                        .flatten()
                });
                if port.is_none() {
                    return Err(self.invalid(
                        address,
                        format!("invalid address {text:?} for station {name:?}: write host:port, for example \"127.0.0.1:50051\""),
                    ));
                }
                Some(text.clone())
            }
        };

        Ok(Station {
            name,
            servers: servers as u32,
            service_rate,
            distribution,
            capacity,
            address,
        })
    }

    fn distribution(
        &self,
        raw: &RawStation,
        name: &str,
    ) -> Result<ServiceDistribution, TopologyError> {
        let kind = raw
            .distribution
            .as_ref()
            .map_or("exponential", |kind| kind.get_ref().as_str());
        let distribution = match kind {
            "exponential" => ServiceDistribution::Exponential,
            "deterministic" => ServiceDistribution::Deterministic,
            "gamma" => {
                let Some(scv) = &raw.scv else {
                    let at = raw.distribution.as_ref().expect("gamma was written");
                    return Err(self.invalid(
                        at,
                        format!("station {name:?} uses a gamma distribution without scv: add scv = 0.5, for example"),
                    ));
                };
                let value = *scv.get_ref();
                if !(value.is_finite() && value > 0.0) {
                    return Err(self.invalid(
                        scv,
                        format!("invalid scv = {value} for station {name:?}: it must be a number greater than 0"),
                    ));
                }
                return Ok(ServiceDistribution::Gamma { scv: value });
            }
            other => {
                let at = raw.distribution.as_ref().expect("a kind was written");
                return Err(self.invalid(
                    at,
                    format!(
                        "unknown distribution {other:?} for station {name:?}: use \"exponential\", \
                         \"deterministic\" or \"gamma\""
                    ),
                ));
            }
        };
        if let Some(scv) = &raw.scv {
            return Err(self.invalid(
                scv,
                format!("scv is set for station {name:?}, whose distribution is {kind}: scv applies only to \"gamma\""),
            ));
        }
        Ok(distribution)
    }

    fn call(
        &self,
        raw: &RawCall,
        known: &impl Fn(&Spanned<String>) -> Result<String, TopologyError>,
    ) -> Result<Call, TopologyError> {
        let from = known(&raw.from)?;
        let to = known(&raw.to)?;
        let probability = *raw.probability.get_ref();
        if !(0.0..=1.0).contains(&probability) {
            return Err(self.invalid(
                &raw.probability,
                format!(
                    "invalid probability = {probability} for the call from {from:?} to {to:?}: it must lie in \
                     [0, 1]; to call a station twice per visit, write two [[call]] tables"
                ),
            ));
        }
        Ok(Call {
            from,
            to,
            probability,
        })
    }

    fn arrival(
        &self,
        raw: &RawArrival,
        known: &impl Fn(&Spanned<String>) -> Result<String, TopologyError>,
    ) -> Result<Arrival, TopologyError> {
        let station = known(&raw.station)?;
        let rate = *raw.rate.get_ref();
        if !(rate.is_finite() && rate > 0.0) {
            return Err(self.invalid(
                &raw.rate,
                format!("invalid rate = {rate} for arrivals at {station:?}: it must be requests per second greater than 0"),
            ));
        }
        Ok(Arrival { station, rate })
    }

    /// Rejects a cycle of calls whose gain is 1 or more, pointing at one of its calls.
    fn check_cycles(
        &self,
        topology: &Topology,
        raw_calls: &[RawCall],
    ) -> Result<(), TopologyError> {
        let network = topology
            .to_network()
            .map_err(|error| self.whole_file(&error.to_string()))?;
        match network.visit_ratios() {
            Ok(_) => Ok(()),
            Err(error) => {
                let queuelab_engine::NetworkError::DivergentCycle { stations } = &error else {
                    return Err(self.whole_file(&error.to_string()));
                };
                let on_cycle = raw_calls.iter().find(|call| {
                    stations.contains(call.from.get_ref()) && stations.contains(call.to.get_ref())
                });
                match on_cycle {
                    Some(call) => Err(self.invalid(&call.from, error.to_string())),
                    None => Err(self.whole_file(&error.to_string())),
                }
            }
        }
    }
}

/// Converts a byte offset into a 1-based line and column.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |newline| before.len() - newline - 1)
        + 1;
    (line, column)
}
