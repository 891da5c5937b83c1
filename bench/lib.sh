# Sourced by the benchmarks of bench/ (bash), from the project root.
# bench_setup NAME BUILD PROGRAM...: builds the release preset when BUILD is
# 1; sets $bin and checks every PROGRAM is there (exit 3 if not); makes $work
# (/tmp/ota-bench-NAME-XXXXXX). At exit the bench's own background processes
# are stopped and $work is removed; an interrupt exits 130.
bench_setup() {
    local name=$1 build=$2 p
    shift 2
    if [ "$build" -eq 1 ]; then ./ci/build release || exit 3; fi
    bin=$PWD/build/release/bin
    for p in "$@"; do
        [ -e "$bin/$p" ] || { echo "$name.sh: $bin/$p is missing (build the release preset)" >&2; exit 3; }
    done
    work=$(mktemp -d "/tmp/ota-bench-$name-XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# bench_kill_tree PID: PID and every process below it (a device loop's device too, which
# would be left running under init if only its loop were killed).
bench_kill_tree() {
    local c
    for c in $(pgrep -P "$1"); do bench_kill_tree "$c"; done
    kill "$1" 2>/dev/null
}

bench_cleanup() {
    local c
    for c in $(pgrep -P $$); do bench_kill_tree "$c"; done
    wait 2>/dev/null
    rm -rf "$work"
}

# The resident memory of process $1 in KiB (0 when it is gone).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# bench_jobs_rss API DPID JOBS WARMUP EVERY BODY: POSTs JOBS jobs to the daemon at API one after
# the other, the body of job i printed by the function `BODY i`, waits for each to succeed (120 s
# at most; `die` otherwise), and prints the daemon's RSS after the first job, every EVERY-th and
# the last. Sets base (the RSS after WARMUP jobs), peak and end, in KiB.
bench_jobs_rss() {
    local api=$1 dpid=$2 jobs=$3 warmup=$4 every=$5 body=$6 i code id state rss t0
    t0=$(date +%s.%N)
    base=0
    peak=0
    for i in $(seq 1 "$jobs"); do
        code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST "$api/jobs" -d "$("$body" "$i")")
        [ "$code" = 201 ] || die "POST /jobs $i: $code $(cat "$work/post.json")"
        id=$(sed -n 's/^	"id":	\([0-9]*\),$/\1/p' "$work/post.json")
        state=
        for _ in $(seq 1 1200); do # 120 s a job at most
            state=$(curl -s "$api/jobs/$id" | sed -n 's/^	"state":	"\([A-Z_]*\)",$/\1/p')
            [ "$state" = SUCCEEDED ] || [ "$state" = FAILED ] && break
            sleep 0.05
        done
        [ "$state" = SUCCEEDED ] || die "job $id ended $state"
        rss=$(rss_kb "$dpid")
        [ "$rss" -gt "$peak" ] && peak=$rss
        [ "$i" -eq "$warmup" ] && base=$rss
        if [ "$i" -eq 1 ] || [ $((i % every)) -eq 0 ] || [ "$i" -eq "$jobs" ]; then
            awk -v i="$i" -v r="$rss" -v t0="$t0" -v t="$(date +%s.%N)" \
                'BEGIN { printf "after %5d jobs: RSS %6.1f MB  (%.0f s)\n", i, r / 1024, t - t0 }'
        fi
    done
    end=$(rss_kb "$dpid")
}

# bench_daemon ARG...: starts ota-mock-cloud ARG... (its log $work/daemon.log) and waits for its
# API; sets dpid, api (the API's URL) and mport (its broker's MQTT port); `die` if it never came up.
bench_daemon() {
    "$bin/ota-mock-cloud" "$@" >"$work/daemon.log" 2>&1 &
    dpid=$!
    api=
    for _ in $(seq 1 100); do
        api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$work/daemon.log")
        [ -n "$api" ] && break
        sleep 0.1
    done
    [ -n "$api" ] || die "ota-mock-cloud did not start"
    mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/daemon.log")
}

# bench_ref_device: the reference device ref-device-01 on the daemon's broker (restarted when it
# reboots, its state in $work/state, its log $work/device.log), once it reported 1.0.0; sets
# devpid (its restart loop).
bench_ref_device() {
    mkdir -p "$work/state"
    (
        export OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$mport OTA_MQTT_TLS=0 \
            OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
            OTA_DEVICE_SECRET=0123456789abcdef0123456789abcdef OTA_MODULE=default \
            OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$work/state
        while "$bin/ota-ref-device" --no-channel; do :; done
    ) >>"$work/device.log" 2>&1 &
    devpid=$!
    for _ in $(seq 1 100); do
        curl -sf "$api/devices" | grep -q '"reportedVersion":	"1.0.0"' && break
        sleep 0.1
    done
}
