#!/usr/bin/env bash
# Benchmark, not a test: MQTT block download of a 16,000,000-byte image (the
# largest POST /jobs takes) by the reference device through ota-mock-cloud,
# at 5 KiB, 64 KiB and 128 KiB blocks, each beside its baseline measured in
# the same run: ota-bench-echo, a bare lock-step request/reply echo over the
# same broker binary, config and plugin, with the same block size and bytes.
# Prints MB/s of both and the ratio; judges nothing. bench/README.md.
#
# usage: bench/blocks.sh [--runs N] [--sizes "5120 65536 131072"] [--bytes N] [--no-build]
set -u
cd "$(dirname "$0")/.." || exit 2
runs=3
sizes="5120 65536 131072"
bytes=16000000
build=1
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: bench/blocks.sh [--runs N] [--sizes \"5120 65536 131072\"] [--bytes N] [--no-build]" >&2
       exit 2 ;;
    esac
done
. bench/lib.sh
bench_setup blocks "$build" ota-mock-cloud ota-ref-device ota-bench-echo
dpid=""
rpid=""

# The mock cloud as a person starts it, without the message log (--quiet), on free ports: a
# fresh one for every run, so that no run pays for the memory of the ones before it.
start_cloud() {
    "$bin/ota-mock-cloud" --quiet >"$work/cloud.log" 2>&1 &
    dpid=$!
    api=""
    for _ in $(seq 1 400); do
        api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$work/cloud.log")
        [ -n "$api" ] && break
        sleep 0.05
    done
    mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/cloud.log")
    seen=0
    if [ -z "$api" ] || [ -z "$mport" ]; then
        echo "blocks.sh: ota-mock-cloud did not start:" >&2
        cat "$work/cloud.log" >&2
        return 1
    fi
}

stop_cloud() {
    kill "$dpid" 2>/dev/null
    wait "$dpid" 2>/dev/null
    dpid=""
}

# Trace records from the next unread one on, page by page (X-Next-From), into $work/trace.jsonl.
read_trace() {
    : >"$work/trace.jsonl"
    while :; do
        curl -sf -D "$work/h" "$api/trace?from=$seen" >>"$work/trace.jsonl" || return 1
        next=$(tr -d '\r' <"$work/h" | sed -n 's/^X-Next-From: //Ip')
        [ -z "$next" ] || [ "$next" -le "$seen" ] && return 0
        seen=$next
    done
}

stop_device() {
    kill "$rpid" 2>/dev/null
    wait "$rpid" 2>/dev/null
    rpid=""
}

# One download by the reference device at block size $1: prints MB/s and the cloud's share.
mock_run() {
    local block=$1 state="$work/state-$1-$2" end
    mkdir -p "$state"
    read_trace || return 1
    OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$mport OTA_MQTT_TLS=0 \
        OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
        OTA_DEVICE_SECRET=0123456789abcdef0123456789abcdef OTA_MODULE=default \
        OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$state \
        "$bin/ota-ref-device" --no-channel --block-size "$block" >"$work/device.log" 2>&1 &
    rpid=$!
    # Connected when the cloud lists its version report.
    for _ in $(seq 1 100); do
        curl -sf "$api/devices" | grep -q '"reportedVersion":	"1.0.0"' && break
        sleep 0.05
    done
    job=$(curl -sf -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"version\":\"2.0.$2\",\"size\":$bytes,\"transport\":\"mqtt\",\"digest\":\"md5\"}" |
        sed -n 's/^\t"id":\t\([0-9]*\).*/\1/p')
    [ -n "$job" ] || { echo "blocks.sh: POST /jobs failed" >&2; stop_device; return 1; }
    # The device writes the image and reboots (exits 0) once the download is verified.
    end=$((SECONDS + 60))
    while kill -0 "$rpid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
    if kill -0 "$rpid" 2>/dev/null || [ ! -f "$state/firmware.bin" ]; then
        echo "blocks.sh: the device did not finish the download; its log:" >&2
        tail -5 "$work/device.log" >&2
        stop_device
        curl -sf -X POST "$api/jobs/$job/cancel" >/dev/null
        return 1
    fi
    wait "$rpid"
    rpid=""
    # The next device boots fresh (1.0.0): this job must not be pushed to it again.
    curl -sf -X POST "$api/jobs/$job/cancel" >/dev/null
    read_trace || return 1
    python3 - "$work/trace.jsonl" "$bytes" <<'EOF'
import json, statistics, sys
# From the first block request to the last block reply of this download; the cloud's share is
# the time from a request's arrival to its reply leaving, per block.
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ev = [(r["kind"], r["t"]) for r in recs if r.get("dev") == "ref-device-01"
      and r.get("topic", "").endswith(("/thing/file/download", "/thing/file/download_reply"))]
ins = [t for k, t in ev if k == "mqtt-in"]
outs = [t for k, t in ev if k == "mqtt-out"]
span = outs[-1] - ins[0]
cloud = [b - a for (ka, a), (kb, b) in zip(ev, ev[1:]) if ka == "mqtt-in" and kb == "mqtt-out"]
print("%.1f %.0f %d" % (int(sys.argv[2]) / span / 1e6, statistics.median(cloud) * 1e6, len(ins)))
EOF
}

echo_run() {
    "$bin/ota-bench-echo" --block "$1" --bytes "$bytes" | sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p'
}

echo "MQTT block download of $bytes bytes: reference device through ota-mock-cloud against"
echo "ota-bench-echo (lock-step echo, same broker and plugin); $runs runs of each, alternating."
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1);" \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
summary=""
rc=0
i=0
for block in $sizes; do
    best_e=0
    best_m=0
    for r in $(seq 1 "$runs"); do
        i=$((i + 1))
        e=$(echo_run "$block")
        start_cloud || exit 3
        m=$(mock_run "$block" "$i")
        ok=$?
        stop_cloud
        [ "$ok" -eq 0 ] || { rc=1; continue; }
        # shellcheck disable=SC2086 # three numbers
        set -- $m
        echo "  block $block run $r: echo $e MB/s, mock $1 MB/s ($3 requests; the cloud's part" \
            "of a block ${2} us, median)"
        best_e=$(awk -v a="$best_e" -v b="$e" 'BEGIN { print (b > a ? b : a) }')
        best_m=$(awk -v a="$best_m" -v b="$1" 'BEGIN { print (b > a ? b : a) }')
    done
    target=$([ "$block" -lt 65536 ] && echo 50 || echo 70)
    summary="$summary$(awk -v b="$block" -v e="$best_e" -v m="$best_m" -v t="$target" 'BEGIN {
        r = e > 0 ? 100 * m / e : 0
        printf "%8d %10.1f %10.1f %7.0f%% %7s%%  %s\n", b, e, m, r, t, (r >= t ? "met" : "below") }')
"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "best of $runs (MB/s = 10^6 bytes/s):"
printf "%8s %10s %10s %8s %8s\n" block echo mock ratio target
printf "%s" "$summary"
exit "$rc"
