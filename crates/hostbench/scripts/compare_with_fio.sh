#!/usr/bin/env bash
# Runs `queuelab io-bench` and the matching fio jobs on one directory, ROUNDS
# times each, and prints the median of each figure.
#
# Usage: compare_with_fio.sh DIR [ROUNDS] [QUEUELAB]
#   DIR       directory on the file system to measure (needs 256 MiB free)
#   ROUNDS    runs of each tool (default 3)
#   QUEUELAB  path of the queuelab binary (default target/debug/queuelab)
#
# The fio jobs mirror io-bench's phases. Sequential writes are buffered 64 KiB
# blocks with a final fsync, and sequential reads are O_DIRECT 64 KiB blocks.
# The random phases are 2000 O_DIRECT 4 KiB reads, and 2000 writes with a
# final fsync. Each job runs alone with the psync engine (queue depth 1).
set -euo pipefail

dir=${1:?usage: compare_with_fio.sh DIR [ROUNDS] [QUEUELAB]}
rounds=${2:-3}
queuelab=${3:-target/debug/queuelab}
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "$dir"/fio-compare.*' EXIT

command -v fio >/dev/null || { echo "fio not found: install it (apt-get install fio)" >&2; exit 2; }

common=(--directory="$dir" --filename=fio-compare.dat --size=256m --ioengine=psync
        --output-format=json --group_reporting)

for round in $(seq 1 "$rounds"); do
  "$queuelab" io-bench --dir "$dir" --size 256MiB --block 64KiB --ops 2000 --json \
    > "$work/queuelab-$round.json"
  fio --name=sequential_write --rw=write --bs=64k --end_fsync=1 "${common[@]}" \
    > "$work/fio-sequential_write-$round.json"
  fio --name=sequential_read --rw=read --bs=64k --direct=1 "${common[@]}" \
    > "$work/fio-sequential_read-$round.json"
  fio --name=random_read --rw=randread --bs=4k --direct=1 --number_ios=2000 "${common[@]}" \
    > "$work/fio-random_read-$round.json"
  fio --name=random_write --rw=randwrite --bs=4k --direct=1 --number_ios=2000 --end_fsync=1 \
    "${common[@]}" > "$work/fio-random_write-$round.json"
  rm -f "$dir"/fio-compare.*
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys

work, rounds = sys.argv[1], int(sys.argv[2])
phases = ["sequential_write", "sequential_read", "random_read", "random_write"]

def median(values):
    return statistics.median(values)

print(f"{'phase':<17} {'tool':<9} {'MB/s':>8} {'IOPS':>8} {'p50 us':>9} {'p99 us':>9}")
for phase in phases:
    ours = [json.load(open(f"{work}/queuelab-{r}.json"))[phase] for r in range(1, rounds + 1)]
    print(f"{phase:<17} {'queuelab':<9} {median([p['bytes_per_s'] for p in ours]) / 1e6:>8.1f} "
          f"{median([p['iops'] for p in ours]):>8.0f} "
          f"{median([p['latency_p50_s'] for p in ours]) * 1e6:>9.1f} "
          f"{median([p['latency_p99_s'] for p in ours]) * 1e6:>9.1f}")
    jobs = []
    for r in range(1, rounds + 1):
        job = json.load(open(f"{work}/fio-{phase}-{r}.json"))["jobs"][0]
        jobs.append(job["write"] if "write" in phase else job["read"])
    # fio reports bw_bytes in bytes/s and completion latency (clat_ns) percentiles in ns.
    print(f"{'':<17} {'fio':<9} {median([j['bw_bytes'] for j in jobs]) / 1e6:>8.1f} "
          f"{median([j['iops'] for j in jobs]):>8.0f} "
          f"{median([j['clat_ns']['percentile']['50.000000'] for j in jobs]) / 1e3:>9.1f} "
          f"{median([j['clat_ns']['percentile']['99.000000'] for j in jobs]) / 1e3:>9.1f}")
PY
