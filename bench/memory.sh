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
    for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
die() { echo "bench/memory.sh: $*" >&2; tail -5 "$work"/*.log >&2; exit 1; }
[ -x "$bin/ota-mock-cloud" ] || die "no $bin/ota-mock-cloud (./ci/build release)"

trace=()
[ -n "${TRACE:-}" ] && trace=(--trace "$TRACE")
"$bin/ota-mock-cloud" --quiet --devices "$fx/devices" --job-timeout 0 "${trace[@]}" \
    >"$work/daemon.log" 2>&1 &
dpid=$!
pids+=($dpid)
for _ in $(seq 1 100); do
    api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$work/daemon.log")
    [ -n "$api" ] && break
    sleep 0.1
done
[ -n "$api" ] || die "ota-mock-cloud did not start"
mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/daemon.log")
mkdir -p "$work/state"
(
    export OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$mport OTA_MQTT_TLS=0 \
        OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
        OTA_DEVICE_SECRET=0123456789abcdef0123456789abcdef OTA_MODULE=default \
        OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$work/state
    while "$bin/ota-ref-device" --no-channel; do :; done
) >>"$work/device.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sf "$api/devices" | grep -q '"reportedVersion":	"1.0.0"' && break
    sleep 0.1
done

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
