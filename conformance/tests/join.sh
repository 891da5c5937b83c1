#!/usr/bin/env bash
# ota-conformance joining a running ota-mock-cloud (--cloud HOST:PORT): the
# daemon hands the run its broker and cloud credential, the run tests the
# reference device through it and passes; meanwhile the daemon only logs the
# claimed device's messages, refuses jobs for it, and still upgrades a second
# device it serves itself. Afterwards the claim is released. A control API
# that is not there is exit 3 with a sentence.
set -u
bin=$1
fx=$(cd "$(dirname "$0")/../../fixtures" && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work join

# Wait until GET $1 shows the text $2 (30 s).
await() {
    for _ in $(seq 1 300); do
        curl -sf "$1" | tr -d ' \t\n' | grep -q "$2" && return 0
        sleep 0.1
    done
    return 1
}

# Wait until the file $1 holds the text $2 (30 s).
await_log() {
    for _ in $(seq 1 300); do
        grep -q -- "$2" "$1" && return 0
        sleep 0.1
    done
    return 1
}

# The daemon on free ports (it prints them).
"$bin/ota-mock-cloud" --devices "$fx/devices" --scenarios "$fx/scenarios" >"$work/daemon.log" 2>&1 &
pids+=($!)
await_log "$work/daemon.log" '^  API    http:' || fail "ota-mock-cloud did not start"
api=$(sed -n 's/^  API    http:\/\/\([^ ]*\).*/\1/p' "$work/daemon.log")
mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/daemon.log")
[ -n "$api" ] && [ -n "$mport" ] || fail "no API or MQTT port in the banner"

# A second device, served by the daemon itself all along.
(
    export OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$mport OTA_MQTT_TLS=0 \
        OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=mcu-device-01 \
        OTA_DEVICE_SECRET=fedcba9876543210fedcba9876543210 OTA_MODULE=MCU \
        OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$work/mcu
    mkdir -p "$OTA_STATE_DIR"
    while "$bin/ota-ref-device" --no-channel; do :; done
) >>"$work/mcu.log" 2>&1 &
pids+=($!)
await "http://$api/devices" '"deviceName":"mcu-device-01",[^}]*"reportedVersion":"1.0.0"' ||
    fail "mcu-device-01 never reported its version to the daemon"

# The run joins the daemon: its own device (ref-device-01) is claimed.
timeout 300 "$bin/ota-conformance" --cloud "$api" --only 'VER-*' --trace "$work/trace.jsonl" \
    >"$work/run.log" 2>&1 &
run=$!
pids+=($run)
await_log "$work/daemon.log" 'ref-device-01 claimed by a conformance run (client ota-mock-cloud-join-' ||
    fail "the daemon never logged the claim"

# While it runs: no job for the claimed device; the other device upgrades as ever.
code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST "http://$api/jobs" \
    -d '{"device":"ref-device-01","version":"5.0.0"}')
[ "$code" = 409 ] || fail "a job for a claimed device must be 409, got $code: $(cat "$work/post.json")"
code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST "http://$api/join" \
    -d '{"productKey":"a1RefProd01","deviceName":"ref-device-01","deviceSecret":"00"}')
[ "$code" = 409 ] || fail "a second claim of ref-device-01 must be 409, got $code: $(cat "$work/post.json")"
code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST "http://$api/jobs" \
    -d '{"device":"mcu-device-01","version":"2.0.0","module":"MCU"}')
[ "$code" = 201 ] || fail "POST /jobs for mcu-device-01: $code $(cat "$work/post.json")"
await "http://$api/jobs/1" '"state":"SUCCEEDED"' || fail "the daemon's own job for mcu-device-01 did not succeed"

wait "$run"
rc=$?
[ "$rc" -eq 0 ] || fail "ota-conformance --cloud exited $rc"
grep -q '^PASSED: ' "$work/run.log" || fail "the run did not pass: $(tail -3 "$work/run.log")"
grep -q "joined ota-mock-cloud at $api" "$work/trace.jsonl" || fail "the run-begin record does not name the joined cloud"
grep -q 'mqtt-in ref-device-01 /ota/device/inform/.*(claimed by a conformance run)' "$work/daemon.log" ||
    fail "the daemon's log does not show the claimed device's messages marked"
# Until the claim ends: a device that reconnects after the release is the daemon's again.
sed '/ref-device-01 released: served by this cloud again/q' "$work/daemon.log" | grep -q 'mqtt-out ref-device-01' &&
    fail "the daemon sent the claimed device something"
await_log "$work/daemon.log" 'ref-device-01 released: served by this cloud again' ||
    fail "the claim was not released after the run"
curl -s "http://$api/jobs" | grep -q '"device":	"ref-device-01"' && fail "the daemon made a job for the claimed device"

# The device is the daemon's again: a second join may claim it, DELETE gives it back.
code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST "http://$api/join" \
    -d '{"productKey":"a1RefProd01","deviceName":"ref-device-01","deviceSecret":"0123456789abcdef0123456789abcdef"}')
[ "$code" = 200 ] || fail "joining again after the release: $code $(cat "$work/post.json")"
grep -q '"cloudPassword"' "$work/post.json" || fail "the join answer has no credential"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$api/join/ref-device-01")" = 200 ] ||
    fail "DELETE /join/ref-device-01"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$api/join/ref-device-01")" = 404 ] ||
    fail "a second DELETE must be 404"

# No control API there: exit 3 and a sentence.
"$bin/ota-conformance" --cloud 127.0.0.1:1 --only VER-1 >"$work/refused.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "--cloud 127.0.0.1:1 must exit 3, got $rc"
grep -q 'no ota-mock-cloud control API at 127.0.0.1:1: connection refused' "$work/refused.log" ||
    fail "no clear sentence: $(cat "$work/refused.log")"
echo PASS
