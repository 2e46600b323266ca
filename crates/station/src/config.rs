//! Turning a topology into the settings of one station.

use std::collections::BTreeMap;

use queuelab_topology::{ServiceDistribution, Topology};

use crate::error::ConfigError;
use crate::names;
use crate::sampler::ServiceTimeDistribution;
use crate::station::{CallSpec, DEFAULT_HOLD_ERROR_P99, StationSpec};

/// Builds the spec of station `name` from `topology`. The station's seed is
/// `seed` mixed with its name, so that stations sharing a seed draw
/// independent streams.
///
/// # Errors
/// [`ConfigError::StationMissing`] when the topology has no such station,
/// or any error of [`StationSpec::validate`].
pub fn station_spec(
    topology: &Topology,
    name: &str,
    seed: u64,
) -> Result<StationSpec, ConfigError> {
    let station = topology
        .station(name)
        .ok_or_else(|| ConfigError::StationMissing {
            station: name.to_owned(),
        })?;

    let mean_s = station.mean_service_time_s();
    let distribution = match station.distribution {
        ServiceDistribution::Exponential => ServiceTimeDistribution::Exponential { mean_s },
        ServiceDistribution::Deterministic => {
            ServiceTimeDistribution::Deterministic { value_s: mean_s }
        }
        ServiceDistribution::Gamma { scv } => ServiceTimeDistribution::Gamma { mean_s, scv },
    };

    let spec = StationSpec {
        name: name.to_owned(),
        servers: station.servers,
        distribution,
        capacity: station.capacity,
        calls: topology
            .calls_from(name)
            .map(|call| CallSpec {
                to: call.to.clone(),
                probability: call.probability,
            })
            .collect(),
        seed: station_seed(seed, name),
        hold_error_p99: DEFAULT_HOLD_ERROR_P99,
    };
    spec.validate()?;
    Ok(spec)
}

/// Returns the address of station `name`: the topology's `address` when it
/// gives one, else the reference port of [`names::reference_address`].
///
/// # Errors
/// [`ConfigError::StationMissing`] when the station is in neither.
pub fn station_address(topology: &Topology, name: &str) -> Result<String, ConfigError> {
    let from_topology = topology
        .station(name)
        .and_then(|station| station.address.clone());
    from_topology
        .or_else(|| names::reference_address(name))
        .ok_or_else(|| ConfigError::StationMissing {
            station: name.to_owned(),
        })
}

/// Lists the stations that `name` calls with the address of each, in
/// topology order. An entry of `overrides` (station name to `host:port`)
/// replaces the topology's address.
///
/// # Errors
/// [`ConfigError::StationMissing`] for a called station without address.
pub fn call_targets(
    topology: &Topology,
    name: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    topology
        .calls_from(name)
        .map(|call| {
            let address = match overrides.get(&call.to) {
                Some(address) => address.clone(),
                None => station_address(topology, &call.to)?,
            };
            Ok((call.to.clone(), address))
        })
        .collect()
}

/// Mixes a base seed with a station name (64-bit FNV-1a of the name, then a
/// SplitMix64 finalizer), so each station gets its own stream.
pub fn station_seed(seed: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut mixed = seed ^ hash;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_order_spec() {
        let topology = Topology::reference();
        let spec = station_spec(&topology, "order", 1).unwrap();
        assert_eq!(spec.servers, 2);
        // μ = 1000/s, so a mean service time of 1 ms.
        assert_eq!(
            spec.distribution,
            ServiceTimeDistribution::Exponential { mean_s: 0.001 }
        );
        let targets: Vec<(&str, f64)> = spec
            .calls
            .iter()
            .map(|call| (call.to.as_str(), call.probability))
            .collect();
        assert_eq!(targets, [("payment", 1.0), ("database", 0.9)]);
    }

    #[test]
    fn missing_station_is_reported() {
        let topology = Topology::reference();
        let result = station_spec(&topology, "inventory", 1);
        assert!(matches!(result, Err(ConfigError::StationMissing { .. })));
    }

    #[test]
    fn override_replaces_address() {
        let topology = Topology::reference();
        let overrides = BTreeMap::from([("payment".to_owned(), "127.0.0.1:6000".to_owned())]);
        let targets = call_targets(&topology, "order", &overrides).unwrap();
        assert_eq!(
            targets[0],
            ("payment".to_owned(), "127.0.0.1:6000".to_owned())
        );
        assert_eq!(
            targets[1],
            ("database".to_owned(), "127.0.0.1:50056".to_owned())
        );
    }

    #[test]
    fn seeds_differ_by_station() {
        assert_ne!(station_seed(1, "user"), station_seed(1, "product"));
        assert_eq!(station_seed(1, "user"), station_seed(1, "user"));
    }
}
