//! The raw form of a topology file, as serde reads it.
//!
//! Every table rejects unknown fields. Names keep their position in the file
//! so that later checks can point at the line.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
    #[serde(default)]
    pub(crate) station: Vec<RawStation>,
    #[serde(default)]
    pub(crate) call: Vec<RawCall>,
    #[serde(default)]
    pub(crate) arrival: Vec<RawArrival>,
}

/// One `[[station]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStation {
    pub(crate) name: Spanned<String>,
    pub(crate) servers: Spanned<i64>,
    pub(crate) service_rate: Option<Spanned<f64>>,
    pub(crate) mean_service_time: Option<Spanned<String>>,
    pub(crate) distribution: Option<Spanned<String>>,
    pub(crate) scv: Option<Spanned<f64>>,
    pub(crate) capacity: Option<Spanned<i64>>,
    pub(crate) address: Option<Spanned<String>>,
}

/// One `[[call]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCall {
    pub(crate) from: Spanned<String>,
    pub(crate) to: Spanned<String>,
    pub(crate) probability: Spanned<f64>,
}

/// One `[[arrival]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrival {
    pub(crate) station: Spanned<String>,
    pub(crate) rate: Spanned<f64>,
}
