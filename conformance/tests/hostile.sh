#!/usr/bin/env bash
# Hostile devices against a running ota-mock-cloud, while a conformance run
# (--cloud) tests the reference device through it: one device sends 1 MiB
# payloads, a flood of thousands of messages, thousands of block requests for
# offsets outside its file, a progress with malformed UTF-8, subscribes to '#',
# and a login storm with a wrong password comes in. The run must still pass
# and write its reports, the daemon must keep serving and say in its trace
# what it refused, and stop cleanly. Figures are printed; about 5 s.
# OTA_KEEP_WORK=1 keeps the work folder (traces, logs) for a look afterwards.
set -u
bin=$1
fx=$(cd "$(dirname "$0")/../../fixtures" && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work hostile
await_log() { # file text: 30 s
    for _ in $(seq 1 300); do
        grep -q -- "$2" "$1" && return 0
        sleep 0.1
    done
    return 1
}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%d in %.2f s (%.0f/s)", n, b - a, n / (b - a) }'; }

# The broker plugin's publish cap lowered from 10,000 to 2,000 a second, so a
# client on a loaded 2-core machine reaches it.
OTA_BROKER_MAX_RATE=2000 "$bin/ota-mock-cloud" --devices "$fx/devices" --scenarios "$fx/scenarios" \
    --trace "$work/daemon.jsonl" >"$work/daemon.log" 2>&1 &
dpid=$!
pids+=($dpid)
await_log "$work/daemon.log" '^  API    http:' || fail "ota-mock-cloud did not start"
api=$(sed -n 's/^  API    http:\/\/\([^ ]*\).*/\1/p' "$work/daemon.log")
mport=$(sed -n 's/^  MQTT   \([0-9]*\).*/\1/p' "$work/daemon.log")

# The hostile device: mcu-device-01, logged in with its real credentials.
pk=a1RefProd01
dn=mcu-device-01
cid=$(sed -n "s/^  device $dn .*clientId '\([^']*\)'.*/\1/p" "$work/daemon.log")
pw=$(sed -n "s/^  device $dn .* password \([0-9A-F]*\)\$/\1/p" "$work/daemon.log")
[ -n "$cid" ] && [ -n "$pw" ] || fail "no login for $dn in the banner"
# One connection per attack: the same clientId would take the others over. The
# signature covers only "pk.dn" of the clientId, so another _v= still logs in.
as_dev() { echo -p "$mport" -i "${cid/_v=ota-ref-1.0/_v=$1}" -u "$dn&$pk" -P "$pw"; }
[[ $cid == *_v=ota-ref-1.0* ]] || fail "the banner's clientId has no _v=ota-ref-1.0: $cid"

# The conformance run: the reference device over HTTP and over MQTT blocks.
timeout 120 "$bin/ota-conformance" --cloud "$api" --only 'DL-[15]' --trace "$work/run.jsonl" \
    --junit "$work/run.xml" --html "$work/run.html" >"$work/run.log" 2>&1 &
run=$!
pids+=($run)

# A flood beside the run: 20,000 informs with distinct ids as fast as the
# client sends them; the broker plugin lets 2,000 a second through and drops
# the rest.
seq 1 20000 | sed 's/.*/{"id":"&","params":{"version":"1.0.0"}}/' >"$work/flood"
(
    t0=$(now)
    mosquitto_pub $(as_dev flood) -q 1 -t "/ota/device/inform/$pk/$dn" -l <"$work/flood" ||
        echo "flood: the publish failed"
    echo "flood: $(rate 20000 "$t0" "$(now)")"
) >"$work/flood.out" 2>&1 &
flooder=$!
pids+=($flooder)

# Subscribed to '#': it must hear nothing of the other device.
timeout 15 mosquitto_sub $(as_dev sub) -t '#' -v >"$work/sub.out" 2>"$work/sub.err" &
pids+=($!)

# 1 MiB payloads, twice.
head -c 1048576 /dev/zero | tr '\0' 'x' >"$work/big"
for _ in 1 2; do
    mosquitto_pub $(as_dev big) -q 1 -t "/ota/device/inform/$pk/$dn" -f "$work/big" ||
        fail "the 1 MiB publish did not go through the broker"
done

# Thousands of block requests outside the file of an open MQTT-block job.
code=$(curl -s -o "$work/job.json" -w '%{http_code}' -X POST "http://$api/jobs" \
    -d "{\"device\":\"$dn\",\"version\":\"2.0.0\",\"module\":\"MCU\",\"transport\":\"mqtt\",\"size\":4096}")
[ "$code" = 201 ] || fail "POST /jobs for $dn: $code $(cat "$work/job.json")"
sid=$(tr -d ' \t\n' <"$work/job.json" | sed -n 's/.*"streamId":\([0-9]*\).*/\1/p')
[ -n "$sid" ] || fail "the job has no streamId: $(cat "$work/job.json")"
seq 1 3000 | sed "s/.*/{\"id\":\"&\",\"version\":\"1.0\",\"params\":{\"fileToken\":\"default\",\"fileInfo\":{\"streamId\":$sid,\"fileId\":1},\"fileBlock\":{\"size\":1024,\"offset\":&0000}}}/" \
    >"$work/blocks"
t0=$(now)
mosquitto_pub $(as_dev blocks) -q 1 -t "/sys/$pk/$dn/thing/file/download" -l <"$work/blocks" ||
    fail "the block-request publish failed"
echo "block requests outside the file: $(rate 3000 "$t0" "$(now)")"

# Malformed UTF-8 in a progress desc.
mosquitto_pub $(as_dev utf8) -q 1 -t "/ota/device/progress/$pk/$dn" \
    -m "$(printf '{"id":"9","params":{"step":"10","desc":"bad \xff\xfe \xc3\x28 utf-8"}}')" ||
    fail "the malformed UTF-8 publish failed"

# A login storm: 200 connects with a wrong password, 50 at a time.
t0=$(now)
for _ in 1 2 3 4; do
    storm=()
    for _ in $(seq 1 50); do
        mosquitto_pub $(as_dev storm) -P 00 -t x -m x 2>/dev/null &
        storm+=($!)
    done
    wait "${storm[@]}"
done
echo "login storm: $(rate 200 "$t0" "$(now)")"

# The run passes and writes its reports; the daemon is still there and serving.
wait "$flooder"
cat "$work/flood.out"
grep -q "publish failed" "$work/flood.out" && fail "the flood publish failed"
wait "$run"
rc=$?
[ "$rc" -eq 0 ] || fail "the conformance run beside the hostile device exited $rc: $(tail -5 "$work/run.log")"
grep -q 'PASSED: 2 tests, 2 passed' "$work/run.log" || fail "the run did not pass both tests: $(tail -3 "$work/run.log")"
[ -s "$work/run.html" ] || fail "no HTML report"
xmllint --noout --schema "$fx/schemas/junit.xsd" "$work/run.xml" 2>"$work/xmllint.log" ||
    fail "the JUnit report does not validate: $(head -3 "$work/xmllint.log")"
kill -0 "$dpid" 2>/dev/null || fail "ota-mock-cloud died"
curl -sf "http://$api/devices" | grep -q "$dn" || fail "GET /devices no longer answers"
grep -q "/ref-device-01/" "$work/sub.out" && fail "'#' let $dn hear ref-device-01: $(grep -m1 ref-device-01 "$work/sub.out")"

# What the daemon's trace says about each of them.
sleep 1.5 # the repeat summaries are written once a second
tr="$work/daemon.jsonl"
grep -q "payload of 1048576 bytes over the cap" "$tr" || fail "the 1 MiB payloads are not reported"
flood=$(grep -o "flood: [0-9]* publishes in about a second, [0-9]* dropped over the cap[^\"]*" "$tr" | head -1)
[ -n "$flood" ] || fail "the flood is not reported in the trace"
echo "trace: $flood"
grep -q "acl-denied: subscribe # " "$tr" || fail "the subscription to '#' is not reported"
grep -q '"bad_utf8":[1-9]' "$tr" || fail "the malformed UTF-8 is not counted in the trace"
iconv -f UTF-8 -t UTF-8 "$tr" >/dev/null 2>&1 || fail "the daemon's trace is not valid UTF-8"
grep -q "\"kind\":\"cloud\",\"dev\":\"$dn\".*repeated [0-9]* times" "$tr" ||
    echo "note: no repeat summary for $dn (the flood's ids differ)"
refused=$(grep -c "\"dev\":\"$dn\".*download_reply" "$tr")
echo "trace: $(wc -l <"$tr") records, $(wc -c <"$tr") bytes; $refused block replies to $dn"
grep -q "\"kind\":\"broker\".*$dn.*refused" "$tr" || grep -q "$dn.*refused" "$tr" ||
    fail "the refused logins are not in the trace"

kill -TERM "$dpid"
wait "$dpid" || fail "ota-mock-cloud did not exit 0 on SIGTERM"
echo PASS
