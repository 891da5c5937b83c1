#!/usr/bin/env bash
# ota-mock-cloud on its own, as a person uses it: fixed ports, the control
# API driven with curl, the reference device upgraded by HTTP, by MQTT blocks
# and under a fault plan, bad requests answered, a taken port refused with a
# clear message, and a clean stop on SIGTERM. Then the job timer and cancel,
# a topic outside OTA, and a client looping on a 404 with a bounded log. With root and port 80 free, also
# --http-port 80 with URLs that carry no port (the 3.x SDK's case).
set -u
bin=$1
fx=$(cd "$(dirname "$0")/../../fixtures" && pwd)
work=$(mktemp -d /tmp/ota-daemon-XXXXXX)
pids=()
cleanup() {
    # children first: the device loop's subshell would leave its device running
    for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    exit 1
}

# Start a daemon with the given options; sets $api, $dpid. Fixed ports chosen at random are
# tried again when taken (tests never assume a port is free).
start_daemon() { # name options...
    local name=$1 log="$work/$1.log"
    shift
    "$bin/ota-mock-cloud" "$@" >"$log" 2>&1 &
    dpid=$!
    pids+=("$dpid")
    for _ in $(seq 1 100); do
        api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$log")
        [ -n "$api" ] && return 0
        kill -0 "$dpid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# The reference device against a daemon: a loop that restarts it when it reboots (exit 0).
start_device() { # mqtt-port state-dir [ca-file: TLS]
    (
        export OTA_DIALECT=aliyun OTA_MQTT_HOST=127.0.0.1 OTA_MQTT_PORT=$1 OTA_MQTT_TLS=0 \
            OTA_PRODUCT_KEY=a1RefProd01 OTA_DEVICE_NAME=ref-device-01 \
            OTA_DEVICE_SECRET=0123456789abcdef0123456789abcdef OTA_MODULE=default \
            OTA_FIRMWARE_VERSION=1.0.0 OTA_STATE_DIR=$2
        if [ -n "${3:-}" ]; then export OTA_MQTT_TLS=1 OTA_CA_FILE=$3; fi
        while "$bin/ota-ref-device" --no-channel; do :; done
    ) >>"$work/device.log" 2>&1 &
    pids+=($!)
}

# Wait until GET $1 shows the text $2 (30 s).
await() {
    for _ in $(seq 1 300); do
        curl -sf "$1" | grep -q "$2" && return 0
        sleep 0.1
    done
    return 1
}

post() { curl -s -o "$work/post.json" -w '%{http_code}' -X POST "$api/jobs" -d "$1"; }
# The first daemon listens on every address, so its API needs a token (a header): every curl
# here sends it (the file server ignores it; loopback daemons need none).
token=daemon-sh-api-token
curl() { command curl -H "Authorization: Bearer $token" "$@"; }

# ---- fixed MQTT and HTTP ports ----
ok=0
for _ in 1 2 3 4 5; do
    mport=$((20000 + RANDOM % 6000))
    hport=$((26000 + RANDOM % 6000))
    if start_daemon main --listen 0.0.0.0 --api-token "$token" --mqtt-port "$mport" --http-port "$hport" \
        --devices "$fx/devices" --scenarios "$fx/scenarios"; then ok=1; break; fi
done
[ "$ok" -eq 1 ] || fail "ota-mock-cloud did not start on fixed ports"
grep -q "^  MQTT   $mport " "$work/main.log" || fail "the MQTT port is not the one asked for"
grep -q "^  HTTP   $hport" "$work/main.log" || fail "the HTTP port is not the one asked for"
# The device lines follow the API line (a slow start, under Valgrind say, prints them later).
for _ in $(seq 1 100); do grep -q "clientId 'a1RefProd01.ref-device-01|" "$work/main.log" && break; sleep 0.05; done
grep -q "clientId 'a1RefProd01.ref-device-01|" "$work/main.log" || fail "no login printed for the device"

curl -sf "$api/devices" | grep -q '"deviceName":	"ref-device-01"' || fail "GET /devices: $(curl -s "$api/devices")"
curl -sf "$api/scenarios" | grep -q '"plan":	"http-close-once"' || fail "GET /scenarios lists no plans"

state="$work/state"
mkdir -p "$state"
start_device "$mport" "$state"
await "$api/devices" '"reportedVersion":	"1.0.0"' || fail "the device never reported its version"

# An upgrade by HTTP: the URL names the fixed HTTP port.
[ "$(post '{"device":"ref-device-01","version":"2.0.0"}')" = 201 ] || fail "POST /jobs: $(cat "$work/post.json")"
grep -q "http://127.0.0.1:$hport/ota/1/" "$work/post.json" || fail "the URL does not name port $hport: $(cat "$work/post.json")"
await "$api/jobs/1" '"state":	"SUCCEEDED"' || fail "job 1 did not succeed: $(curl -s "$api/jobs/1")"
await "$api/devices" '"reportedVersion":	"2.0.0"' || fail "GET /devices does not show 2.0.0"

# Under a fault plan: every download answered 404, so the device reports -2.
[ "$(post '{"device":"ref-device-01","version":"3.0.0","plan":"http-status-404"}')" = 201 ] ||
    fail "POST /jobs with a plan: $(cat "$work/post.json")"
await "$api/jobs/2" '"failCode":	-2' || fail "job 2 did not fail with -2: $(curl -s "$api/jobs/2")"
curl -s "$api/jobs/2" | grep -q 'download failed' || fail "job 2's verdict does not say why"

# By MQTT blocks, with a transient block fault.
[ "$(post '{"device":"ref-device-01","version":"4.0.0","plan":"block-bad-crc-once","size":30000}')" = 201 ] ||
    fail "POST /jobs for blocks: $(cat "$work/post.json")"
grep -q '"transport":	"mqtt"' "$work/post.json" || fail "a block plan must push for MQTT blocks"
await "$api/jobs/3" '"state":	"SUCCEEDED"' || fail "job 3 (blocks) did not succeed: $(curl -s "$api/jobs/3")"

# Session faults by hand: a broker restart (persistence on) and a kick; the device comes back.
[ "$(curl -s -o "$work/r.json" -w '%{http_code}' -X POST "$api/broker/restart?down=0.3")" = 200 ] ||
    fail "POST /broker/restart: $(cat "$work/r.json")"
[ "$(curl -s -o "$work/r.json" -w '%{http_code}' -X POST "$api/devices/ref-device-01/kick")" = 200 ] ||
    fail "POST /devices/ref-device-01/kick: $(cat "$work/r.json")"
[ "$(post '{"device":"ref-device-01","version":"4.1.0"}')" = 201 ] || fail "POST /jobs after the restart"
await "$api/jobs/4" '"state":	"SUCCEEDED"' || fail "job 4 (after a broker restart) did not succeed: $(curl -s "$api/jobs/4")"

# Bad requests get a clear error and a status; nothing breaks.
[ "$(post '{"device":"nobody","version":"1"}')" = 404 ] || fail "an unknown device must be 404"
[ "$(post '{"device":"ref-device-01"')" = 400 ] || fail "malformed JSON must be 400"
grep -q '"error"' "$work/post.json" || fail "no error text: $(cat "$work/post.json")"
[ "$(post '{"device":"ref-device-01","version":"5","plan":"no-such-plan"}')" = 404 ] || fail "an unknown plan must be 404"
[ "$(post '{"device":"ref-device-01","version":"5","plan":"http-foreign-cert"}')" = 400 ] ||
    fail "a TLS plan without --tls must be 400"
[ "$(post '{"device":"ref-device-01","version":"5","size":-4}')" = 400 ] || fail "a negative size must be 400"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/jobs/99")" = 404 ] || fail "an unknown job must be 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/nothing")" = 404 ] || fail "an unknown path must be 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/devices/nobody/kick")" = 404 ] || fail "kicking an unknown device must be 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/broker/restart?down=x")" = 400 ] || fail "a bad down must be 400"

# POST /devices: a batch of profiles registered at once (a fleet's); a bad one is refused by
# its position and nothing of the batch is kept. GET /status names the daemon and its broker.
devs() { curl -s -o "$work/post.json" -w '%{http_code}' -X POST "$api/devices" -d "$1"; }
[ "$(devs '[{"productKey":"a1Fleet","deviceName":"fl-1","deviceSecret":"s1"},{"productKey":"a1Fleet","deviceName":"fl-2","deviceSecret":"s2","firmwareVersion":"0.9"}]')" = 201 ] ||
    fail "POST /devices with two: $(cat "$work/post.json")"
grep -q '"registered":	2' "$work/post.json" || fail "POST /devices does not count them: $(cat "$work/post.json")"
curl -s "$api/devices" | tr -d ' \t\n' | grep -q '"deviceName":"fl-2","module":"default","firmwareVersion":"0.9"' ||
    fail "GET /devices lacks fl-2: $(curl -s "$api/devices")"
[ "$(devs '[{"productKey":"a1Fleet","deviceName":"fl-3","deviceSecret":"s3"},{"productKey":"a1Fleet","deviceName":"fl/4","deviceSecret":"s4"}]')" = 400 ] ||
    fail "a device name with '/' must be 400"
grep -q '"device 1: productKey, deviceName and deviceSecret' "$work/post.json" ||
    fail "the refusal does not name the element: $(cat "$work/post.json")"
curl -s "$api/devices" | grep -q '"fl-3"' && fail "a refused batch left fl-3 registered"
[ "$(devs '"text"')" = 400 ] || fail "POST /devices with a string must be 400"
[ "$(curl -s -o "$work/r.json" -w '%{http_code}' "$api/status")" = 200 ] || fail "GET /status"
tr -d ' \t\n' <"$work/r.json" | grep -Eq '"pid":[1-9][0-9]*,"brokerPid":[1-9][0-9]*,"mqttHost":"127.0.0.1","mqttPort":[1-9]' ||
    fail "GET /status: $(cat "$work/r.json")"

# The trace, in pages: X-Next-From says where to go on.
curl -s -D "$work/h.txt" "$api/trace?from=0" >"$work/trace.jsonl"
grep -q '"kind":"mqtt-in"' "$work/trace.jsonl" || fail "GET /trace has no device messages"
next=$(sed -n 's/^X-Next-From: \([0-9]*\).*/\1/ip' "$work/h.txt")
[ "$next" -eq "$(wc -l <"$work/trace.jsonl")" ] || fail "X-Next-From $next does not follow the page"
grep -q 'progress' "$work/main.log" || fail "the log shows no progress messages"
# Broker events in words, the clientId once, no "reason -1" for a disconnect (Mosquitto 2.0's
# reason for every one), no "port 0" for what is off.
grep -q "broker ref-device-01 connect: client 'a1RefProd01.ref-device-01|[^']*'$" "$work/main.log" ||
    fail "no connect line in words: $(grep -m1 connect "$work/main.log")"
grep -q "broker ref-device-01 disconnect: client '" "$work/main.log" ||
    fail "no disconnect line in words: $(grep -m1 disconnect "$work/main.log")"
if grep -E '\{"event":|reason -1|port 0\b|(client.*){2}' "$work/main.log"; then
    fail "the log prints raw broker events, the clientId twice, reason -1 or port 0 (above)"
fi

# A fixed port that is taken: exit 3 and a sentence naming it.
"$bin/ota-mock-cloud" --mqtt-port "$mport" --devices "$fx/devices" >"$work/taken.log" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "a taken MQTT port must exit 3, got $rc"
grep -q "port $mport is taken by pid [0-9]* (mosquitto)" "$work/taken.log" ||
    fail "the error does not name the port and its holder: $(cat "$work/taken.log")"
"$bin/ota-mock-cloud" --api-port "${api##*:}" --devices "$fx/devices" >"$work/taken.log" 2>&1
[ $? -eq 3 ] || fail "a taken API port must exit 3"
grep -q "control API would not start on .* port ${api##*:}: it is taken by pid $dpid (ota-mock-cloud)" \
    "$work/taken.log" || fail "the API port's holder is not named: $(cat "$work/taken.log")"
"$bin/ota-mock-cloud" --http-port 70000 >/dev/null 2>&1
[ $? -eq 2 ] || fail "a port above 65535 must be bad usage (2)"

# SIGTERM: a clean stop, the broker with it.
kill -TERM "$dpid"
for _ in $(seq 1 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$dpid" 2>/dev/null && fail "ota-mock-cloud did not stop on SIGTERM"
wait "$dpid"
[ $? -eq 0 ] || fail "ota-mock-cloud did not exit 0 on SIGTERM"
mosquitto_pub -p "$mport" -t probe -m x 2>/dev/null && fail "the broker outlived ota-mock-cloud"

# ---- the job timer, cancel, topics outside OTA, a looping client (no device takes the jobs) ----
pkill -P "${pids[-1]}" 2>/dev/null
ok=0
for _ in 1 2 3 4 5; do
    mport=$((20000 + RANDOM % 6000))
    if start_daemon timer --mqtt-port "$mport" --job-timeout 2 --trace "$work/timer.jsonl" \
        --devices "$fx/devices" --scenarios "$fx/scenarios"; then ok=1; break; fi
done
[ "$ok" -eq 1 ] || fail "ota-mock-cloud --job-timeout 2 did not start"
grep -q '^  jobs   time out after 2 s' "$work/timer.log" || fail "the banner does not show the job timeout"
call() { curl -s -o "$work/r.json" -w '%{http_code}' -X "$1" "$api$2"; }

# --job-timeout for every job; "timeout" for one.
[ "$(post '{"device":"ref-device-01","version":"2.0.0"}')" = 201 ] || fail "POST /jobs (timer)"
[ "$(post '{"device":"mcu-device-01","version":"2.0.0","timeout":5}')" = 201 ] ||
    fail "POST /jobs with a timeout: $(cat "$work/post.json")"
grep -q '"timeout":	5' "$work/post.json" || fail "the job does not show its timeout: $(cat "$work/post.json")"
await "$api/jobs/1" '"state":	"TIMED_OUT"' || fail "job 1 did not time out: $(curl -s "$api/jobs/1")"
curl -s "$api/jobs/1" | grep -q '"verdict":	"timed out after 2 s in state PENDING' ||
    fail "job 1's verdict does not say why: $(curl -s "$api/jobs/1")"
curl -s "$api/jobs/2" | grep -q '"state":	"PENDING"' || fail "job 2 (5 s) ended with the daemon's 2 s"
await "$api/jobs/2" '"state":	"TIMED_OUT"' || fail "job 2 did not time out: $(curl -s "$api/jobs/2")"
grep -q 'job 1 PENDING -> TIMED_OUT (timed out after 2 s' "$work/timer.log" || fail "no timeout line in the log"
[ "$(post '{"device":"ref-device-01","version":"2.1.0","timeout":-1}')" = 400 ] || fail "a negative timeout must be 400"
[ "$(post '{"device":"ref-device-01","version":"2.1.0","timeout":"1"}')" = 400 ] || fail "a string timeout must be 400"

# Cancel: once, then 409; an unknown job 404; DELETE does the same.
[ "$(post '{"device":"ref-device-01","version":"3.0.0","timeout":0}')" = 201 ] || fail "POST /jobs (cancel)"
grep -q '"timeout":	0' "$work/post.json" || fail "timeout 0 must mean never: $(cat "$work/post.json")"
[ "$(call POST /jobs/3/cancel)" = 200 ] || fail "POST /jobs/3/cancel: $(cat "$work/r.json")"
grep -q '"state":	"CANCELED"' "$work/r.json" || fail "cancel did not cancel: $(cat "$work/r.json")"
curl -s "$api/jobs/3" | grep -q '"verdict":	"canceled by the API"' || fail "job 3's verdict: $(curl -s "$api/jobs/3")"
[ "$(call POST /jobs/3/cancel)" = 409 ] || fail "canceling a finished job must be 409"
grep -q '"error"' "$work/r.json" || fail "no error text for 409: $(cat "$work/r.json")"
[ "$(call POST /jobs/1/cancel)" = 409 ] || fail "canceling a timed-out job must be 409"
[ "$(call POST /jobs/99/cancel)" = 404 ] || fail "canceling an unknown job must be 404"
[ "$(post '{"device":"ref-device-01","version":"3.1.0","timeout":0}')" = 201 ] || fail "POST /jobs (delete)"
[ "$(call DELETE /jobs/4)" = 200 ] || fail "DELETE /jobs/4: $(cat "$work/r.json")"
[ "$(call DELETE /jobs/4)" = 409 ] || fail "DELETE of a finished job must be 409"

# A topic outside OTA: logged, marked.
cid=$(sed -n "s/^  device ref-device-01 .*clientId '\([^']*\)'.*/\1/p" "$work/timer.log")
pw=$(sed -n 's/^  device ref-device-01 .* password \([0-9A-F]*\)$/\1/p' "$work/timer.log")
mosquitto_pub -p "$mport" -i "$cid" -u 'ref-device-01&a1RefProd01' -P "$pw" -q 1 \
    -t /sys/a1RefProd01/ref-device-01/thing/deviceinfo/update -m '{"id":"1","params":[]}' ||
    fail "mosquitto_pub as the device was refused"
for _ in $(seq 1 50); do grep -q 'deviceinfo/update .*(not OTA)$' "$work/timer.log" && break; sleep 0.1; done
grep -q 'mqtt-in ref-device-01 /sys/a1RefProd01/ref-device-01/thing/deviceinfo/update .*(not OTA)$' \
    "$work/timer.log" || fail "the log does not show the topic outside OTA"

# A client looping on a 404 (as the Link SDK 4.x does): the log and the trace stay small.
[ "$(post '{"device":"ref-device-01","version":"6.0.0","plan":"http-status-404","timeout":0}')" = 201 ] ||
    fail "POST /jobs (loop)"
url=$(sed -n 's/.*"url":	"\([^"]*\)".*/\1/p' "$work/post.json")
before=$(wc -c <"$work/timer.log")
urls=()
for _ in $(seq 1 100); do urls+=("$url"); done
n=0
end=$((SECONDS + 3))
# At least 3 s and 300 requests, however slow the machine (a loaded one made fewer in 3 s).
while [ "$SECONDS" -lt "$end" ] || [ "$n" -lt 300 ]; do
    curl -s "${urls[@]}" >/dev/null
    n=$((n + 100))
done
sleep 1.5
tail -c +"$((before + 1))" "$work/timer.log" >"$work/loop.txt"
bytes=$(wc -c <"$work/loop.txt")
records=$(wc -l <"$work/timer.jsonl")
echo "a loop of $n requests: $bytes bytes of log, $records trace records in all"
[ "$n" -ge 300 ] || fail "the loop made only $n requests"
grep -q 'looping: [0-9]* requests/s: GET /ota/5/fw-5.bin -> 404' "$work/loop.txt" ||
    fail "no looping line: $(head -c 2000 "$work/loop.txt")"
grep -q 'GET no Range' "$work/loop.txt" || fail "a request without Range is not logged as no Range"
[ "$(grep -c 'GET no Range' "$work/loop.txt")" -le 3 ] || fail "the log repeats the request line"
[ "$bytes" -lt 8192 ] || fail "the log grew $bytes bytes for one loop"
[ "$records" -lt 400 ] || fail "the trace grew to $records records for one loop"
# The reports show the summary records: the daemon's trace, wrapped as one test of a run.
t='{"t":0,"kind":"test","dev":"ref-device-01","payload":"{\"suite\":\"ota-conformance\",\"device\":\"ref-device-01\"}","info":"run-begin","event":"run-begin"}'
b='{"t":0,"kind":"test","dev":"ref-device-01","payload":"{\"group\":\"failure\",\"name\":\"by_hand\",\"rules\":\"FAIL-B\"}","info":"begin failure/by_hand","event":"test-begin"}'
e='{"t":99,"kind":"test","dev":"ref-device-01","payload":"{\"group\":\"failure\",\"name\":\"by_hand\",\"rules\":\"FAIL-B\",\"verdict\":\"fail\",\"failed_rule\":\"FAIL-B\",\"message\":\"looped\"}","info":"end failure/by_hand","event":"test-end"}'
{ echo "$t"; echo "$b"; cat "$work/timer.jsonl"; echo "$e"; } >"$work/run.jsonl"
"$bin/ota-report" --trace "$work/run.jsonl" --junit "$work/run.xml" --html "$work/run.html" \
    2>"$work/report.err" || fail "ota-report on the daemon's trace: $(cat "$work/report.err")"
grep -q 'repeated [0-9]* times in [0-9.]* s ([0-9]*/s): GET /ota/5/fw-5.bin -&gt; 404' "$work/run.html" ||
    fail "the HTML report does not show the summary records"
# A batch: one POST creates many jobs, all checked before any is made.
[ "$(post '[{"device":"ref-device-01","version":"8.0.0","timeout":0},
            {"device":"mcu-device-01","version":"8.0.1","module":"MCU","transport":"mqtt"},
            {"device":"ref-device-01","version":"8.0.2","size":100}]')" = 201 ] ||
    fail "POST /jobs with a batch: $(cat "$work/post.json")"
[ "$(grep -c '"id":' "$work/post.json")" -eq 3 ] || fail "the batch's answer lists no 3 jobs: $(cat "$work/post.json")"
for id in 6 7 8; do
    curl -s "$api/jobs/$id" | grep -q "\"id\":	$id" || fail "job $id of the batch is not there"
done
curl -s "$api/jobs/7" | grep -q '"transport":	"mqtt"' || fail "job 7 of the batch lost its transport"
curl -s "$api/jobs/6" | grep -q '"state":	"CANCELED"' || fail "job 8 did not supersede job 6 of the same device"
[ "$(post '[{"device":"ref-device-01","version":"9"},{"device":"nobody","version":"9"}]')" = 404 ] ||
    fail "a batch naming an unknown device must be 404: $(cat "$work/post.json")"
grep -q '"index":	1' "$work/post.json" || fail "the batch's error does not name job 1: $(cat "$work/post.json")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/jobs/9")" = 404 ] || fail "a refused batch made a job"
[ "$(post '[]')" = 400 ] || fail "an empty batch must be 400"
[ "$(post '[{"device":"ref-device-01","version":"9","size":-1}]')" = 400 ] || fail "a bad job in a batch must be 400"
"$bin/ota-mock-cloud" --trace-keep lots >/dev/null 2>&1
[ $? -eq 2 ] || fail "a --trace-keep that is not a number must be bad usage (2)"
kill -TERM "$dpid"
wait "$dpid" || fail "ota-mock-cloud --job-timeout did not exit 0 on SIGTERM"

# ---- TLS: MQTTS and HTTPS with the build's test CA ----
pkill -P "${pids[-1]}" 2>/dev/null
ok=0
for _ in 1 2 3 4 5; do
    tport=$((20000 + RANDOM % 12000))
    if start_daemon tls --tls --mqtts-port "$tport" --devices "$fx/devices"; then ok=1; break; fi
done
[ "$ok" -eq 1 ] || fail "ota-mock-cloud --tls did not start"
ca=$(sed -n 's/^  HTTPS  [0-9]* (CA: \(.*\))$/\1/p' "$work/tls.log")
[ -s "$ca" ] || fail "the banner names no CA file: $(head -5 "$work/tls.log")"
rm -rf "$state" && mkdir -p "$state"
start_device "$tport" "$state" "$ca"
[ "$(post '{"device":"ref-device-01","version":"7.0.0"}')" = 201 ] || fail "POST /jobs (TLS)"
grep -q '"url":	"https://127.0.0.1:' "$work/post.json" || fail "the URL is not https: $(cat "$work/post.json")"
await "$api/jobs/1" '"state":	"SUCCEEDED"' || fail "the upgrade over TLS did not succeed: $(curl -s "$api/jobs/1")"
grep -q 'securemode=2' "$work/tls.log" || fail "the device did not log in with securemode=2 over TLS"
kill -TERM "$dpid"
pkill -P "${pids[-1]}" 2>/dev/null

# ---- port 80, URLs without a port (root only, and only when 80 is free) ----
if [ "$(id -u)" -ne 0 ]; then
    echo "note: --http-port 80 not tried (not root)"
elif curl -s -o /dev/null --max-time 2 http://127.0.0.1:80/; then
    echo "note: --http-port 80 not tried (something already answers on port 80)"
else
    ok=0
    for _ in 1 2 3 4 5; do
        mport=$((20000 + RANDOM % 6000))
        if start_daemon p80 --mqtt-port "$mport" --http-port 80 --url-no-port \
            --devices "$fx/devices"; then ok=1; break; fi
    done
    [ "$ok" -eq 1 ] || fail "ota-mock-cloud did not start with --http-port 80"
    rm -rf "$state" && mkdir -p "$state"
    start_device "$mport" "$state"
    [ "$(post '{"device":"ref-device-01","version":"6.0.0"}')" = 201 ] || fail "POST /jobs (port 80)"
    grep -q '"url":	"http://127.0.0.1/ota/1/' "$work/post.json" || fail "the URL carries a port: $(cat "$work/post.json")"
    await "$api/jobs/1" '"state":	"SUCCEEDED"' || fail "the upgrade from port 80 did not succeed: $(curl -s "$api/jobs/1")"
    echo "port 80 with URLs without a port: upgraded"
fi
echo PASS
