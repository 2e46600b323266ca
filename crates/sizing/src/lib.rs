//! Heuristic sizing advice from measured CPU and memory figures.
//!
//! These are rules of thumb, not models. They give a starting point, and the
//! result should be checked by measuring the new size under load.
//!
//! - [`catalog`]: instance types and prices, a shipped default replaceable by a file.
//! - [`ranking`]: instance types scored for a CPU workload.
//! - [`memory`]: function memory tier, container limit and request, host
//!   scaling and database buffer pool.
#![warn(missing_docs)]

pub mod catalog;
pub mod error;
pub mod memory;
pub mod ranking;

pub use catalog::{Catalog, InstanceType};
pub use error::SizingError;
pub use memory::{
    ContainerMemory, HostScaling, buffer_pool_bytes, container_memory, function_tier_mib,
    host_scaling,
};
pub use ranking::{RankedInstance, WorkloadProfile, rank, score};
