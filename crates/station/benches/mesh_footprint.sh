#!/usr/bin/env bash
# Runs the six services as separate release processes on 127.0.0.1:51051-51056,
# drives the gateway at the reference rate with `queuelab load`, and prints each
# service's resident memory (VmRSS) and CPU time in seconds, and their sums,
# sampled every 10 s.
#
# Usage, from the workspace root:
#   cargo build --release -p api-gateway -p user -p product -p order -p payment -p database
#   cargo build --release -p queuelab
#   bash crates/station/benches/mesh_footprint.sh [RATE_PER_S] [SECONDS]
# Defaults: 1000 requests/s for 30 s, after a 5 s warm-up; SECONDS is at most
# 600. Set BIN_DIR to take the binaries from another target directory
# (default target/release). Linux only (/proc).
set -euo pipefail

rate=${1:-1000}
seconds=${2:-30}
bin_dir=${BIN_DIR:-target/release}
if (( seconds > 600 )); then
    echo "error: SECONDS must be at most 600, got $seconds" >&2
    exit 2
fi

topology=$(mktemp)
sed 's/127.0.0.1:5005/127.0.0.1:5105/' crates/topology/src/reference.toml > "$topology"

pids=()
names=(api-gateway user product order payment database)
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -f "$topology"
}
trap cleanup EXIT

for name in "${names[@]}"; do
    RUST_LOG=warn "$bin_dir/queuelab-$name" --topology "$topology" &
    pids+=($!)
done
sleep 2

ticks_per_s=$(getconf CLK_TCK)
sample() {
    printf '%-12s %10s %12s\n' station rss_kib cpu_s
    total_rss=0
    total_cpu=0
    for index in "${!names[@]}"; do
        pid=${pids[$index]}
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        cpu=$(awk -v t="$ticks_per_s" '{printf "%.2f", ($14 + $15) / t}' "/proc/$pid/stat")
        total_rss=$((total_rss + rss))
        total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN {printf "%.2f", a + b}')
        printf '%-12s %10s %12s\n' "${names[$index]}" "$rss" "$cpu"
    done
    printf '%-12s %10s %12s\n' all "$total_rss" "$total_cpu"
}

echo "== idle"
sample
"$bin_dir/queuelab" load --target http://127.0.0.1:51051 --rate "$rate" \
    --duration "${seconds}s" --warmup 5s --seed 7 > /tmp/mesh_footprint_load.txt 2>&1 &
load=$!
elapsed=0
while kill -0 "$load" 2>/dev/null && (( elapsed < seconds + 30 )); do
    sleep 10
    elapsed=$((elapsed + 10))
    echo "== ${elapsed} s into the load"
    sample
done
wait "$load" || true
echo "== load generator report"
grep -A3 'rate/s' /tmp/mesh_footprint_load.txt || tail -5 /tmp/mesh_footprint_load.txt
