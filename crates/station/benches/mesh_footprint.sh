#!/usr/bin/env bash
# Runs the six services as separate release processes on 127.0.0.1:51051-51056,
# drives the gateway at the reference rate with `queuelab load`, and prints each
# service's resident memory (VmRSS) and CPU time, with the shares of its station
# thread (queue and timed holds) and of its reply thread (waking the request
# tasks), in seconds, sampled every 10 s.
#
# Usage, from the workspace root:
#   cargo build --release -p api-gateway -p user -p product -p order -p payment -p database
#   cargo build -p queuelab
#   bash crates/station/benches/mesh_footprint.sh [RATE_PER_S] [SECONDS]
# Defaults: 1000 requests/s for 30 s, after a 5 s warm-up. Linux only (/proc).
set -euo pipefail

rate=${1:-1000}
seconds=${2:-30}
if (( seconds > 300 )); then
    echo "error: SECONDS must be at most 300, got $seconds" >&2
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
    RUST_LOG=warn "target/release/queuelab-$name" --topology "$topology" &
    pids+=($!)
done
sleep 2

ticks_per_s=$(getconf CLK_TCK)
sample() {
    printf '%-12s %10s %12s %14s %14s\n' station rss_kib cpu_s station_thread replies_thread
    for index in "${!names[@]}"; do
        pid=${pids[$index]}
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        cpu=$(awk -v t="$ticks_per_s" '{printf "%.2f", ($14 + $15) / t}' "/proc/$pid/stat")
        station=0
        replies=0
        for task in /proc/"$pid"/task/*; do
            task_cpu=$(awk -v t="$ticks_per_s" '{printf "%.2f", ($14 + $15) / t}' "$task/stat")
            if grep -q '^station-' "$task/comm"; then
                station=$task_cpu
            elif grep -q '^replies-' "$task/comm"; then
                replies=$task_cpu
            fi
        done
        printf '%-12s %10s %12s %14s %14s\n' "${names[$index]}" "$rss" "$cpu" "$station" "$replies"
    done
}

echo "== idle"
sample
target/debug/queuelab load --target http://127.0.0.1:51051 --rate "$rate" \
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
