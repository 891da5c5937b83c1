#!/usr/bin/env bash
# Benchmark, not a test: ota-mock-cloud's memory while it serves one uploaded
# firmware file to many jobs. One daemon, one 16 MiB file of random bytes
# uploaded as two versions (POST /firmware: the reference device ignores a
# push of the version it runs, so the jobs alternate between them), then JOBS
# jobs ("firmware": ID), the reference device upgraded by HTTP each time; the daemon's resident memory
# (RSS) printed at intervals. The file is served from the store's folder,
# never copied per job, so the memory must stay flat: the pass criterion
# (printed) is that the RSS after the last job is less than 8 MiB over the
# RSS after the first WARMUP jobs (half of one file).
#
#   bench/firmware.sh [--no-build] [JOBS]     default 100 jobs (about 2 minutes on 2 cores)
#   SIZE=N EVERY=N WARMUP=N TRACE_KEEP=N bench/firmware.sh
#
# What still grows is the trace kept in memory (about 20 records a job, up to
# --trace-keep, default 10000); TRACE_KEEP=200 shows the line without it.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
jobs=${1:-100}
size=${SIZE:-16777216}
every=${EVERY:-10}
warmup=${WARMUP:-10}
[ "$warmup" -lt "$jobs" ] || warmup=1
bench_setup firmware "$build" ota-mock-cloud ota-ref-device
fx=$PWD/fixtures
die() { echo "bench/firmware.sh: $*" >&2; tail -5 "$work"/*.log >&2; exit 1; }

head -c "$size" /dev/urandom >"$work/app.bin"
keep=()
[ -n "${TRACE_KEEP:-}" ] && keep=(--trace-keep "$TRACE_KEEP")
bench_daemon --quiet --devices "$fx/devices" --job-timeout 0 "${keep[@]}" --firmware-dir "$work/store"
bench_ref_device

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "RSS before the upload: $(($(rss_kb "$dpid") / 1024)) MB"
fws=()
for v in 9.9.8 9.9.9; do
    code=$(curl -s -o "$work/fw.json" -w '%{http_code}' -X POST --data-binary @"$work/app.bin" \
        "$api/firmware?version=$v")
    [ "$code" = 201 ] || die "POST /firmware: $code $(cat "$work/fw.json")"
    fws+=("$(sed -n 's/^	"id":	\([0-9]*\),$/\1/p' "$work/fw.json")")
done
echo "RSS after uploading $size bytes twice: $(($(rss_kb "$dpid") / 1024)) MB"
echo "ota-mock-cloud ($bin${TRACE_KEEP:+, --trace-keep $TRACE_KEEP}): $jobs jobs of firmware ${fws[*]} ($size bytes each) by HTTP, one after the other"
job_body() { echo "{\"device\":\"ref-device-01\",\"firmware\":${fws[$(($1 % 2))]}}"; }
bench_jobs_rss "$api" "$dpid" "$jobs" "$warmup" "$every" job_body
grow=$(((end - base) / 1024))
echo "baseline (RSS after $warmup jobs): $((base / 1024)) MB; after $jobs: $((end / 1024)) MB; peak $((peak / 1024)) MB"
echo "growth over the last $((jobs - warmup)) jobs: $grow MB (pass: under 8 MB, half of the file)"
echo "open descriptors of the daemon on the store's files: $(ls -l /proc/$dpid/fd 2>/dev/null | grep -c "$work/store")"
if [ "$grow" -lt 8 ]; then echo "memory flat: PASS"; else echo "memory flat: FAIL"; fi
