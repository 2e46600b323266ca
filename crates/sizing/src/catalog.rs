//! The instance catalog: types, vCPUs, burst baseline and price.

use serde::{Deserialize, Serialize};

use crate::error::SizingError;

/// The catalog shipped with queuelab, used when no `--catalog` file is given.
pub const DEFAULT_CATALOG_TOML: &str = include_str!("default_catalog.toml");

/// One instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    /// Provider's name, such as `c5.large`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// For a burstable type, the share of each vCPU usable without spending
    /// CPU credits, in percent (0 < baseline ≤ 100), or `None` for a fixed-performance type.
    #[serde(default)]
    pub baseline_percent: Option<f64>,
    /// On-demand price per hour in US dollars.
    pub price_per_hour_usd: f64,
}

impl InstanceType {
    /// Returns whether the type runs on CPU credits above its baseline.
    pub fn is_burstable(&self) -> bool {
        self.baseline_percent.is_some()
    }

    /// Returns vCPUs per dollar-hour, the tie-breaker between equal scores.
    pub fn vcpus_per_usd(&self) -> f64 {
        f64::from(self.vcpus) / self.price_per_hour_usd
    }

    fn validate(&self) -> Result<(), SizingError> {
        let invalid = |detail: String| SizingError::InvalidInstance {
            name: self.name.clone(),
            detail,
        };
        if self.vcpus == 0 {
            return Err(invalid("vcpus must be at least 1, got 0".into()));
        }
        if !(self.price_per_hour_usd.is_finite() && self.price_per_hour_usd > 0.0) {
            return Err(invalid(format!(
                "price_per_hour_usd must be a positive number, got {}",
                self.price_per_hour_usd
            )));
        }
        if let Some(baseline) = self.baseline_percent
            && !(baseline > 0.0 && baseline <= 100.0)
        {
            return Err(invalid(format!(
                "baseline_percent must be above 0 and at most 100, got {baseline}"
            )));
        }
        Ok(())
    }
}

/// A list of instance types to rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The instance types, in file order.
    #[serde(rename = "instance", default)]
    pub instances: Vec<InstanceType>,
}

impl Catalog {
    /// Parses and validates a catalog in TOML (`[[instance]]` tables).
    ///
    /// # Errors
    /// [`SizingError::CatalogSyntax`] for invalid TOML or unknown fields,
    /// [`SizingError::EmptyCatalog`] without instance types,
    /// [`SizingError::InvalidInstance`] for a zero vCPU count, a non-positive
    /// price or a baseline outside (0, 100].
    pub fn from_toml(text: &str) -> Result<Self, SizingError> {
        let catalog: Catalog = toml::from_str(text)?;
        if catalog.instances.is_empty() {
            return Err(SizingError::EmptyCatalog);
        }
        for instance in &catalog.instances {
            instance.validate()?;
        }
        Ok(catalog)
    }

    /// Returns the catalog shipped with queuelab (c5 and t3 types).
    pub fn builtin() -> Self {
        Self::from_toml(DEFAULT_CATALOG_TOML).expect("the shipped catalog is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_has_seven_types() {
        let catalog = Catalog::builtin();

        assert_eq!(catalog.instances.len(), 7);
        let t3_medium = &catalog.instances[4];
        assert_eq!(t3_medium.name, "t3.medium");
        assert_eq!(t3_medium.baseline_percent, Some(20.0));
        assert_eq!(t3_medium.price_per_hour_usd, 0.0416);
    }

    #[test]
    fn zero_price_is_rejected() {
        let text = "[[instance]]\nname = \"x\"\nvcpus = 2\nprice_per_hour_usd = 0.0\n";
        let error = Catalog::from_toml(text).unwrap_err();

        assert!(error.to_string().contains("price_per_hour_usd"), "{error}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let text = "[[instance]]\nname = \"x\"\nvcpus = 2\ncost = 1.0\nprice_per_hour_usd = 1.0\n";

        assert!(Catalog::from_toml(text).is_err());
    }

    #[test]
    fn empty_catalog_is_rejected() {
        assert!(matches!(
            Catalog::from_toml(""),
            Err(SizingError::EmptyCatalog)
        ));
    }
}
