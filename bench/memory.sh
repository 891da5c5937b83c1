#!/usr/bin/env bash
# Benchmark, not a test: the memory of a long-running ota-mock-cloud over
# many consecutive large jobs. One daemon, the reference device upgraded
# again and again (each job 16,000,000 bytes, the largest POST /jobs takes,
# by MQTT blocks unless TRANSPORT=http), the daemon's resident memory (RSS)
# printed at intervals. The baseline is the same run's RSS after its first
# WARMUP jobs; the pass criterion (printed, not a ctest) is that the RSS
# then grows by less than one image (16 MB) over the rest of the run.
#
#   bench/memory.sh [JOBS]            default 1000 jobs (about 15 minutes on 2 cores)
#   BIN=DIR TRANSPORT=http SIZE=N EVERY=N WARMUP=N TRACE=FILE bench/memory.sh
#
# BIN: the programs (default build/release/bin; ./ci/build release makes
# them). TRACE: also give the daemon --trace FILE (16 MB jobs by blocks
# write about 35 MB of hex a job into it).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh # rss_kb, bench_jobs_rss
jobs=${1:-1000}
bin=${BIN:-build/release/bin}
transport=${TRANSPORT:-mqtt}
size=${SIZE:-16000000}
every=${EVERY:-50}
warmup=${WARMUP:-100}
[ "$warmup" -lt "$jobs" ] || warmup=$((jobs / 10 > 0 ? jobs / 10 : 1))
fx=$(pwd)/fixtures
work=$(mktemp -d /tmp/ota-bench-memory-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do bench_kill_tree "$p"; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
die() { echo "bench/memory.sh: $*" >&2; tail -5 "$work"/*.log >&2; exit 1; }
[ -x "$bin/ota-mock-cloud" ] || die "no $bin/ota-mock-cloud (./ci/build release)"

trace=()
[ -n "${TRACE:-}" ] && trace=(--trace "$TRACE")
bench_daemon --quiet --devices "$fx/devices" --job-timeout 0 "${trace[@]}"
pids+=("$dpid")
bench_ref_device
pids+=("$devpid")

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "ota-mock-cloud ($bin): $jobs jobs of $size bytes by $transport, one after the other"
echo "RSS before the first job: $(($(rss_kb "$dpid") / 1024)) MB"
job_body() {
    echo "{\"device\":\"ref-device-01\",\"version\":\"2.$1.0\",\"size\":$size,\"transport\":\"$transport\"}"
}
bench_jobs_rss "$api" "$dpid" "$jobs" "$warmup" "$every" job_body
grow=$(((end - base) / 1024))
echo "baseline (RSS after $warmup jobs): $((base / 1024)) MB; after $jobs: $((end / 1024)) MB; peak $((peak / 1024)) MB"
echo "growth over the last $((jobs - warmup)) jobs: $grow MB (pass: under $((size / 1000000)) MB, one image)"
if [ "$grow" -lt $((size / 1000000)) ]; then echo "memory flat: PASS"; else echo "memory flat: FAIL"; fi
