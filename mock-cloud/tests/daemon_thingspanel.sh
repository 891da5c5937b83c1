#!/usr/bin/env bash
# ota-mock-cloud --dialect thingspanel driven by hand, as the README shows it:
# a device played by mosquitto_sub/pub logging in by access token, the push
# on both spellings of the topic with the stock server's value types, an
# unknown token refused, progress identified from the connection, step "100"
# alone ending the job, the platform's task states in GET /jobs, and the
# documented value types on the one spelling asked for. Then the reference
# device in the dialect upgrades end to end, with either value types.
set -u
bin=$1
work=$(mktemp -d /tmp/ota-daemon-tp-XXXXXX)
dpid=
subpid=
devpid=
cleanup() {
    [ -n "$devpid" ] && stop_device
    [ -n "$subpid" ] && kill "$subpid" 2>/dev/null
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$work"/*; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    exit 1
}
TOK=0123456789abcdef0123456789abcdef # ref-device-01's deviceSecret: its access token

start_daemon() { # [--log: print the message log] options...
    local quiet=--quiet
    [ "${1:-}" = --log ] && { quiet=; shift; }
    [ -n "$dpid" ] && { kill "$dpid"; wait "$dpid" 2>/dev/null; }
    "$bin/ota-mock-cloud" --dialect thingspanel $quiet "$@" >"$work/daemon.log" 2>&1 &
    dpid=$!
    for _ in $(seq 1 100); do
        api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$work/daemon.log")
        mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/daemon.log")
        [ -n "$api" ] && return 0
        kill -0 "$dpid" 2>/dev/null || fail "the daemon did not start"
        sleep 0.05
    done
    fail "the daemon printed no API line"
}

# Subscribe as the device (it stays connected); wait for its connect; messages land in $work/sub.
subscribe() { # topics...
    local args=()
    for t in "$@"; do args+=(-t "$t"); done
    [ -n "${subpid:-}" ] && kill "$subpid" 2>/dev/null
    : >"$work/sub"
    stdbuf -oL timeout 30 mosquitto_sub -p "$mport" -i tp-sub -u "$TOK" -q 1 -v "${args[@]}" \
        >"$work/sub" 2>"$work/sub.err" &
    subpid=$!
    for _ in $(seq 1 100); do
        curl -sf "$api/trace?from=0" | grep -q '"client_id\\":\\"tp-sub' && return 0
        sleep 0.05
    done
    fail "the subscriber did not connect"
}

# Wait until the subscriber has n messages.
received() { # n
    for _ in $(seq 1 100); do
        [ "$(wc -l <"$work/sub")" -ge "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

progress() { # body
    mosquitto_pub -p "$mport" -i tp-pub -u "$TOK" -q 1 -t ota/devices/progress -m "$1" ||
        fail "progress $1 not published"
}

state_is() { # job platformState
    for _ in $(seq 1 300); do
        curl -sf "$api/jobs/$1" | grep -q "\"platformState\":[[:space:]]*\"$2\"" && return 0
        sleep 0.05
    done
    fail "job $1 never reached $2: $(curl -s "$api/jobs/$1" | tr -d '\n\t')"
}

start_daemon
grep -q "username '$TOK' (access token)" "$work/daemon.log" || fail "no token login printed"
mosquitto_pub -p "$mport" -i tp-bad -u no-such-token -t ota/devices/progress -m '{}' 2>/dev/null &&
    fail "an unknown access token was accepted"
subscribe ota/devices/inform/ref-device-01 ota/devices/infrom/ref-device-01
curl -sf -X POST "$api/jobs" -d '{"device":"ref-device-01","version":"2.0.0","size":4096}' \
    >/dev/null || fail "POST /jobs"
received 2 || fail "the push did not arrive on both topics"
grep -q '^ota/devices/inform/ref-device-01 {"id":"[0-9]*","code":"200","params":{"version":"2.0.0","size":"0",' "$work/sub" ||
    fail "no stock-server push on inform"
grep -q '^ota/devices/infrom/ref-device-01 .*"sign":"","module":"default","extData":{}}}$' "$work/sub" ||
    fail "no stock-server push on infrom"
state_is 1 pushed
progress '{"step":"50","desc":"half","module":"MCU"}'
state_is 1 upgrading
progress '{"step":"100","desc":"done","module":"MCU"}'
state_is 1 succeeded
# A second job fails on step -2; the wrapped (Aliyun) body is refused, not taken.
curl -sf -X POST "$api/jobs" -d '{"device":"ref-device-01","version":"2.1.0"}' >/dev/null
progress '{"id":"9","params":{"step":"-1"}}'
progress '{"step":"-2","desc":"download failed"}'
state_is 2 failed
curl -sf "$api/trace?from=0" | grep -q 'progress refused' || fail "a wrapped progress was not refused"

start_daemon --push-topic inform --push-values doc
subscribe ota/devices/inform/ref-device-01
curl -sf -X POST "$api/jobs" -d '{"device":"ref-device-01","version":"2.0.0","size":4096}' >/dev/null
received 1 || fail "no push with --push-topic inform"
grep -q '"code":200,"params":{"version":"2.0.0","size":4096,.*"sign":"[0-9a-f]\{32\}"' "$work/sub" ||
    fail "no documented value types"
[ "$(curl -sf "$api/trace?from=0" | grep -c '"mqtt-out"')" = 1 ] || fail "pushed on infrom too"
"$bin/ota-mock-cloud" --dialect nope >"$work/bad" 2>&1
grep -q "unknown dialect 'nope'" "$work/bad" || fail "an unknown dialect not refused by name"

# The reference device in the dialect: a loop that restarts it when it reboots (exit 0).
upgrade_ref_device() { # daemon options...
    start_daemon "$@"
    rm -rf "$work/state" && mkdir -p "$work/state"
    (
        export OTA_DIALECT=thingspanel OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$mport \
            OTA_MQTT_TLS=0 OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
            OTA_DEVICE_SECRET=$TOK OTA_MODULE=default OTA_FIRMWARE_VERSION=1.0.0 \
            OTA_STATE_DIR=$work/state
        while [ ! -e "$work/stop" ] && "$bin/ota-ref-device" --no-channel; do :; done
    ) >>"$work/device.log" 2>&1 &
    devpid=$!
    for _ in $(seq 1 100); do
        curl -sf "$api/trace?from=0" | grep -q '"connect: ' && break
        sleep 0.05
    done
    curl -sf -X POST "$api/jobs" -d '{"device":"ref-device-01","version":"2.0.0","size":40960}' \
        >/dev/null || fail "POST /jobs"
    state_is 1 succeeded
    [ "$(cat "$work/state/version")" = 2.0.0 ] || fail "the device did not flash 2.0.0"
    stop_device
}

# The loop starts no device once $work/stop exists; the one it may have started is stopped too.
stop_device() {
    touch "$work/stop"
    while kill -0 "$devpid" 2>/dev/null; do
        pkill -P "$devpid" 2>/dev/null
        sleep 0.05
    done
    wait "$devpid" 2>/dev/null
    rm -f "$work/stop"
    devpid=
}
upgrade_ref_device
grep -q "no signature pushed" "$work/device.log" || fail "the stock push was verified?"
upgrade_ref_device --log --push-values doc
# The message log knows the dialect's topics: the push and the progress are OTA's.
grep -q 'mqtt-in  *ref-device-01 ota/devices/progress {' "$work/daemon.log" ||
    fail "the log shows no progress on ota/devices/progress"
grep -q 'mqtt-out ref-device-01 ota/devices/inform/ref-device-01 {' "$work/daemon.log" ||
    fail "the log shows no push on ota/devices/inform"
if grep -E 'ota/devices/(progress|inform|infrom).*\(not OTA\)' "$work/daemon.log"; then
    fail "the log calls the dialect's OTA topics (not OTA)"
fi
echo "ok"
