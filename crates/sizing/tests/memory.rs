//! Memory sizing rules on hand-worked cases.

use queuelab_sizing::{
    HostScaling, buffer_pool_bytes, container_memory, function_tier_mib, host_scaling,
};

const MIB: u64 = 1024 * 1024;

#[test]
fn function_tier_smallest_with_headroom() {
    // 100 MiB × 1.2 = 120 MiB fits 128, but 107 MiB × 1.2 = 128.4 MiB needs 256.
    assert_eq!(function_tier_mib(100 * MIB), Some(128));
    assert_eq!(function_tier_mib(107 * MIB), Some(256));
    // 1000 MiB × 1.2 = 1200 MiB needs 2048.
    assert_eq!(function_tier_mib(1000 * MIB), Some(2048));
}

#[test]
fn function_tier_largest_and_none() {
    // 640 MiB × 1.2 = 768 MiB needs 1024, and 2500 MiB × 1.2 = 3000 MiB fits 3008.
    assert_eq!(function_tier_mib(640 * MIB), Some(1024));
    assert_eq!(function_tier_mib(2500 * MIB), Some(3008));
    // 2560 MiB × 1.2 = 3072 MiB is above the largest tier.
    assert_eq!(function_tier_mib(2560 * MIB), None);
}

#[test]
fn function_tier_exactly_at_tier() {
    // 111 848 106 bytes × 1.2 = 134 217 727.2, just under 128 MiB = 134 217 728 bytes.
    assert_eq!(function_tier_mib(111_848_106), Some(128));
    // One more byte needs 134 217 728.4 bytes, above 128 MiB.
    assert_eq!(function_tier_mib(111_848_107), Some(256));
}

#[test]
fn container_limit_includes_week_of_growth() {
    // RSS 200 MiB = 209 715 200 B, growth 100 B/s for 604 800 s = 60 480 000 B.
    // Limit (209 715 200 + 60 480 000) × 1.3 = 351 253 760 B, request 80 % = 281 003 008 B.
    let sizing = container_memory(200 * MIB, 100.0);

    assert_eq!(sizing.limit_bytes, 351_253_760);
    assert_eq!(sizing.request_bytes, 281_003_008);
}

#[test]
fn container_ignores_shrinking_rss() {
    // Growth −50 B/s counts as 0: limit 1 000 000 × 1.3 = 1 300 000, request 1 040 000.
    let sizing = container_memory(1_000_000, -50.0);

    assert_eq!(sizing.limit_bytes, 1_300_000);
    assert_eq!(sizing.request_bytes, 1_040_000);
}

#[test]
fn host_scaling_edges() {
    assert_eq!(host_scaling(0.81), HostScaling::ScaleUp);
    assert_eq!(host_scaling(0.8), HostScaling::Keep);
    assert_eq!(host_scaling(0.5), HostScaling::Keep);
    assert_eq!(host_scaling(0.3), HostScaling::Keep);
    assert_eq!(host_scaling(0.29), HostScaling::ScaleDown);
}

#[test]
fn buffer_pool_is_70_to_80_percent() {
    // 16 GiB = 17 179 869 184 B: 70 % = 12 025 908 428.8 → 12 025 908 428;
    // 80 % = 13 743 895 347.2 → 13 743 895 347.
    assert_eq!(
        buffer_pool_bytes(16 * 1024 * MIB),
        (12_025_908_428, 13_743_895_347)
    );
}
