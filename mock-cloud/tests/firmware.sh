#!/usr/bin/env bash
# The daemon's firmware store (POST /firmware, GET /firmware, DELETE
# /firmware/N, --firmware FILE@VERSION, --firmware-dir, --firmware-max): a
# real file uploaded and pushed to the reference device, which reaches
# SUCCEEDED with it; under http-corrupt it ends FAILED at step -3; the bytes
# served are the file's; bad requests get a status and a sentence.
# usage: firmware.sh BIN_DIR
set -u
bin=$1
fx=$(cd "$(dirname "$0")/../../fixtures" && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work firmware

start_daemon() { # name options...
    local name=$1 log="$work/$1.log"
    shift
    "$bin/ota-mock-cloud" --devices "$fx/devices" --scenarios "$fx/scenarios" "$@" >"$log" 2>&1 &
    dpid=$!
    pids+=("$dpid")
    for _ in $(seq 1 200); do
        api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$log")
        mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$log")
        [ -n "$api" ] && return 0
        kill -0 "$dpid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

start_device() { # mqtt-port state-dir
    (
        export OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$1 OTA_MQTT_TLS=0 \
            OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
            OTA_DEVICE_SECRET=0123456789abcdef0123456789abcdef OTA_MODULE=default \
            OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$2
        while "$bin/ota-ref-device" --no-channel; do :; done
    ) >>"$work/device.log" 2>&1 &
    pids+=($!)
}

await() { # URL TEXT: within 30 s
    for _ in $(seq 1 300); do
        curl -sf "$1" | grep -q "$2" && return 0
        sleep 0.1
    done
    return 1
}

code() { # curl args...: the status, the body in $work/r.json
    curl -s -o "$work/r.json" -w '%{http_code}' "$@"
}
field() { sed -n "s/^\t\"$1\":\t\"\{0,1\}\([^\",]*\).*/\1/p" "$work/r.json" | head -1; }

# A firmware file that is nothing like a generated image: random bytes, 300 KiB.
head -c 307200 /dev/urandom >"$work/app-2.0.0.bin"
head -c 100000 /dev/urandom >"$work/preloaded.bin"
md5=$(md5sum <"$work/app-2.0.0.bin" | cut -d' ' -f1)
sha=$(sha256sum <"$work/app-2.0.0.bin" | cut -d' ' -f1)

mkdir -p "$work/store"
start_daemon main --firmware-dir "$work/store" --firmware-max 1M \
    --firmware "$work/preloaded.bin@1.5.0" || fail "the daemon did not start"
grep -q "^  store  $work/store " "$work/main.log" || fail "the banner does not name the store"

# Upload: id, size, MD5 and SHA-256 of the file.
[ "$(code -X POST --data-binary @"$work/app-2.0.0.bin" "$api/firmware?version=2.0.0&name=app.bin")" = 201 ] ||
    fail "POST /firmware: $(cat "$work/r.json")"
fw=$(field id)
[ "$(field size)" = 307200 ] || fail "size: $(cat "$work/r.json")"
[ "$(field md5)" = "$md5" ] || fail "MD5: $(cat "$work/r.json")"
[ "$(field sha256)" = "$sha" ] || fail "SHA-256: $(cat "$work/r.json")"
[ "$fw" = 2 ] || fail "the upload should be firmware 2 after the preloaded 1: $(cat "$work/r.json")"
cmp -s "$work/app-2.0.0.bin" "$work/store/fw-$fw.bin" || fail "the store's file differs from the upload"
curl -sf "$api/firmware" | grep -q '"version":	"1.5.0"' || fail "GET /firmware lacks the preloaded one"
curl -sf "$api/firmware" | grep -q "\"file\":	\"$work/preloaded.bin\"" ||
    fail "the preloaded firmware must be served from its own file"

# Refused: no version, an empty body, too big (413), a bad sign method; each with a sentence.
[ "$(code -X POST --data-binary @"$work/app-2.0.0.bin" "$api/firmware")" = 400 ] || fail "no version must be 400"
grep -q '"error":	"POST /firmware needs ?version=V' "$work/r.json" || fail "no sentence: $(cat "$work/r.json")"
[ "$(code -X POST --data-binary '' "$api/firmware?version=3")" = 400 ] || fail "an empty body must be 400"
grep -q 'body is empty' "$work/r.json" || fail "empty: $(cat "$work/r.json")"
head -c 1048577 /dev/zero >"$work/big.bin"
[ "$(code -X POST --data-binary @"$work/big.bin" "$api/firmware?version=3")" = 413 ] || fail "over --firmware-max must be 413"
grep -q 'larger than the store' "$work/r.json" || fail "413 without a sentence: $(cat "$work/r.json")"
# Without a Content-Length (chunked), the limit holds while the body streams.
[ "$(code -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$work/big.bin" "$api/firmware?version=3")" = 413 ] ||
    fail "a chunked upload over the limit must be 413: $(cat "$work/r.json")"
grep -q '1048577 bytes, over' "$work/r.json" || fail "chunked 413: $(cat "$work/r.json")"
[ "$(code -X POST --data-binary x "$api/firmware?version=3&sign=crc")" = 400 ] || fail "sign crc must be 400"
[ "$(ls "$work/store" | grep -c upload)" = 0 ] || fail "refused uploads left files: $(ls "$work/store")"

state="$work/state"
mkdir -p "$state"
start_device "$mport" "$state"
await "$api/devices" '"reportedVersion":	"1.0.0"' || fail "the device never reported its version"

# A job with the firmware: its version, its size, its digest; the device succeeds.
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw}")" = 201 ] ||
    fail "POST /jobs with firmware: $(cat "$work/r.json")"
grep -q '"version":	"2.0.0"' "$work/r.json" || fail "the job does not take the firmware's version"
grep -q "\"digest\":	\"$md5\"" "$work/r.json" || fail "the job does not push the file's MD5"
grep -q "\"firmware\":	$fw" "$work/r.json" || fail "the job does not name its firmware"
url=$(field url)
curl -sf "$url" -o "$work/served.bin" || fail "GET $url"
cmp -s "$work/served.bin" "$work/app-2.0.0.bin" || fail "the bytes served are not the file's"
curl -sf -r 1000-1999 "$url" | cmp -s - <(tail -c +1001 "$work/app-2.0.0.bin" | head -c 1000) ||
    fail "a Range of the file is not the file's bytes"
await "$api/jobs/1" '"state":	"SUCCEEDED"' || fail "job 1 did not succeed: $(curl -s "$api/jobs/1")"
await "$api/devices" '"reportedVersion":	"2.0.0"' || fail "GET /devices does not show 2.0.0"

# The same firmware under http-corrupt: the device refuses it with -3.
[ "$(code -X POST --data-binary @"$work/app-2.0.0.bin" "$api/firmware?version=2.1.0&sign=sha256")" = 201 ] ||
    fail "second upload: $(cat "$work/r.json")"
fw2=$(field id)
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw2,\"plan\":\"http-corrupt\"}")" = 201 ] ||
    fail "POST /jobs with http-corrupt: $(cat "$work/r.json")"
grep -q "\"digest\":	\"$sha\"" "$work/r.json" || fail "sign=sha256 must push the SHA-256"
await "$api/jobs/2" '"failCode":	-3' || fail "job 2 did not fail with -3: $(curl -s "$api/jobs/2")"
curl -s "$api/jobs/2" | grep -q '"state":	"FAILED"' || fail "job 2 is not FAILED"

# By MQTT blocks, the file's bytes in every block, a block fault on the way.
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw2,\"plan\":\"block-bad-crc-once\"}")" = 201 ] ||
    fail "POST /jobs by blocks: $(cat "$work/r.json")"
grep -q '"transport":	"mqtt"' "$work/r.json" || fail "a block plan must push for MQTT blocks"
await "$api/jobs/3" '"state":	"SUCCEEDED"' || fail "job 3 (blocks) did not succeed: $(curl -s "$api/jobs/3")"

# Batches (POST /jobs with "devices"): only the devices the package fits get a job.
[ "$(code -X POST "$api/jobs" -d "{\"devices\":[\"ref-device-01\",\"mcu-device-01\",\"nobody\"],\"firmware\":$fw2}")" = 201 ] ||
    fail "a batch: $(cat "$work/r.json")"
grep -q '"jobs":	\[\]' "$work/r.json" || fail "no device fits firmware $fw2: $(cat "$work/r.json")"
grep -q 'already runs version 2.1.0' "$work/r.json" || fail "skip: the version it runs: $(cat "$work/r.json")"
grep -q 'runs module MCU; the package is for module default' "$work/r.json" || fail "skip: module: $(cat "$work/r.json")"
grep -q '"reason":	"no such device"' "$work/r.json" || fail "skip: unknown device: $(cat "$work/r.json")"
[ "$(code -X POST "$api/jobs" -d "{\"devices\":[\"ref-device-01\"],\"firmware\":$fw}")" = 201 ] ||
    fail "a second batch: $(cat "$work/r.json")"
batch=$(field batch)
await "$api/batches/$batch" '"succeeded":	1' || fail "batch $batch: $(curl -s "$api/batches/$batch")"
curl -s "$api/batches/$batch" | grep -q '"desc":	"image written' || fail "the batch's row lacks the desc"
curl -s "$api/batches/$batch?offset=1" | grep -q '"jobs":	\[\]' || fail "offset 1 of a one-job batch has rows"
[ "$(code "$api/batches/99")" = 404 ] || fail "an unknown batch must be 404"
[ "$(code -X POST "$api/jobs" -d "{\"devices\":\"everyone\",\"firmware\":$fw}")" = 400 ] ||
    fail "devices \"everyone\" must be 400"

# GET /events: the trace as Server-Sent Events; Last-Event-ID resumes after the record it names.
curl -sN --max-time 2 -H 'Last-Event-ID: 5' "$api/events" >"$work/events.txt"
[ "$(grep -m1 '^id: ' "$work/events.txt")" = "id: 6" ] || fail "Last-Event-ID 5 must resume at id 6: $(head -5 "$work/events.txt")"
grep -q '^data: {"t":' "$work/events.txt" || fail "no record in the event stream: $(head -5 "$work/events.txt")"
count=$(curl -s -D - -o /dev/null "$api/trace?from=0" | tr -d '\r' | sed -n 's/^X-Next-From: //p')
curl -sN --max-time 1 "$api/events?from=end" >"$work/events.txt"
first=$(sed -n 's/^id: //p' "$work/events.txt" | head -1)
[ -z "$first" ] || [ "$first" -gt "$count" ] ||
    fail "from=end must start with what comes next (after $count records), got id $first"

# Jobs: firmware and size together, an unknown firmware, another version than the firmware's.
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw,\"size\":5}")" = 400 ] ||
    fail "firmware with size must be 400"
[ "$(code -X POST "$api/jobs" -d '{"device":"ref-device-01","firmware":99}')" = 404 ] || fail "unknown firmware must be 404"
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw,\"version\":\"9\"}")" = 400 ] ||
    fail "another version than the firmware's must be 400"
grep -q 'differs from firmware' "$work/r.json" || fail "version: $(cat "$work/r.json")"

# Delete: refused while an open job uses it, then gone, its URL with it.
[ "$(code -X POST "$api/jobs" -d "{\"device\":\"ref-device-01\",\"firmware\":$fw,\"plan\":\"http-stall-once\"}")" = 201 ] ||
    fail "a stalled job: $(cat "$work/r.json")"
open_job=$(field id)
[ "$(code -X DELETE "$api/firmware/$fw")" = 409 ] || fail "deleting a firmware in use must be 409: $(cat "$work/r.json")"
grep -q "open job $open_job" "$work/r.json" || fail "409 without the job: $(cat "$work/r.json")"
[ "$(code -X POST "$api/jobs/$open_job/cancel")" = 200 ] || fail "cancel: $(cat "$work/r.json")"
[ "$(code -X DELETE "$api/firmware/$fw")" = 200 ] || fail "DELETE /firmware/$fw: $(cat "$work/r.json")"
[ -e "$work/store/fw-$fw.bin" ] && fail "the deleted firmware's file is still there"
[ "$(code "$url")" = 404 ] || fail "the deleted firmware's URL must be 404"
[ "$(code -X DELETE "$api/firmware/$fw")" = 404 ] || fail "deleting twice must be 404"
[ "$(code -X DELETE "$api/firmware/1")" = 200 ] || fail "deleting the preloaded one"
[ -e "$work/preloaded.bin" ] || fail "deleting a preloaded firmware removed the user's file"

# --firmware-dir keeps the store across a restart.
kill "$dpid"; wait "$dpid" 2>/dev/null
start_daemon again --firmware-dir "$work/store" || fail "the daemon did not start again"
curl -sf "$api/firmware/$fw2" | grep -q "\"sha256\":	\"$sha\"" ||
    fail "the store's firmware $fw2 did not survive a restart: $(curl -s "$api/firmware")"
[ "$(code -X POST --data-binary x "$api/firmware?version=4")" = 201 ] || fail "upload after restart"
[ "$(field id)" -gt "$fw2" ] || fail "ids must not be reused after a restart: $(cat "$work/r.json")"
echo "PASS"
