//! Memory sizing: function memory tier, container limit and request, host
//! scaling and database buffer pool.

use serde::{Deserialize, Serialize};

/// Bytes in one MiB.
const MIB: u64 = 1024 * 1024;

/// Memory tiers of a serverless function, in MiB.
pub const FUNCTION_TIERS_MIB: [u64; 6] = [128, 256, 512, 1024, 2048, 3008];

/// Headroom of the function tier over the RSS: the tier must be at least 1.2 × RSS.
pub const FUNCTION_HEADROOM: f64 = 1.2;

/// Days of RSS growth that the container limit leaves room for.
pub const CONTAINER_GROWTH_DAYS: f64 = 7.0;

/// Factor applied to RSS plus growth for the container limit.
pub const CONTAINER_LIMIT_FACTOR: f64 = 1.3;

/// Container memory request as a share of the limit.
pub const CONTAINER_REQUEST_SHARE: f64 = 0.8;

/// Host memory use above which to scale up.
pub const HOST_SCALE_UP_ABOVE: f64 = 0.8;

/// Host memory use below which to scale down.
pub const HOST_SCALE_DOWN_BELOW: f64 = 0.3;

/// Database buffer pool range as shares of host memory.
pub const BUFFER_POOL_SHARES: (f64, f64) = (0.7, 0.8);

/// The smallest function tier of at least 1.2 × `rss_bytes`, in MiB, or `None`
/// when even the largest tier (3008 MiB) is too small.
pub fn function_tier_mib(rss_bytes: u64) -> Option<u64> {
    let needed_bytes = rss_bytes as f64 * FUNCTION_HEADROOM;
    FUNCTION_TIERS_MIB
        .into_iter()
        .find(|tier| (tier * MIB) as f64 >= needed_bytes)
}

/// Container memory limit and request, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerMemory {
    /// Limit: (RSS + 7 days of growth) × 1.3, rounded up to a byte.
    pub limit_bytes: u64,
    /// Request: 80 % of the limit, rounded up to a byte.
    pub request_bytes: u64,
}

/// Sizes a container for `rss_bytes` growing at `growth_bytes_per_s`.
///
/// A negative growth (a shrinking RSS) counts as zero, so the limit never
/// falls below 1.3 × the current RSS.
pub fn container_memory(rss_bytes: u64, growth_bytes_per_s: f64) -> ContainerMemory {
    let growth_s = CONTAINER_GROWTH_DAYS * 86_400.0;
    let growth_bytes = growth_bytes_per_s.max(0.0) * growth_s;
    let limit = (rss_bytes as f64 + growth_bytes) * CONTAINER_LIMIT_FACTOR;
    let limit_bytes = limit.ceil() as u64;

    ContainerMemory {
        limit_bytes,
        request_bytes: (limit_bytes as f64 * CONTAINER_REQUEST_SHARE).ceil() as u64,
    }
}

/// Scaling advice for a host, from its memory use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostScaling {
    /// Above 80 % in use: move to more memory.
    ScaleUp,
    /// Between 30 % and 80 % inclusive: keep.
    Keep,
    /// Below 30 % in use: a smaller host would do.
    ScaleDown,
}

/// Advises on a host from the share of its memory in use (0 to 1).
pub fn host_scaling(memory_used_ratio: f64) -> HostScaling {
    if memory_used_ratio > HOST_SCALE_UP_ABOVE {
        HostScaling::ScaleUp
    } else if memory_used_ratio < HOST_SCALE_DOWN_BELOW {
        HostScaling::ScaleDown
    } else {
        HostScaling::Keep
    }
}

/// Database buffer pool range for a host of `host_memory_bytes`: 70 % to 80 %
/// of it, rounded down to a byte, as `(low, high)`.
pub fn buffer_pool_bytes(host_memory_bytes: u64) -> (u64, u64) {
    let (low, high) = BUFFER_POOL_SHARES;
    (
        (host_memory_bytes as f64 * low) as u64,
        (host_memory_bytes as f64 * high) as u64,
    )
}
