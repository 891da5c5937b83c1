#!/usr/bin/env bash
# The runner's command line: listing, filtering, bad usage and an
# unreachable broker each end with a clear message and the documented status.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin/ota-conformance" --list) || fail "--list exited $?"
[ "$(echo "$out" | wc -l)" -ge 12 ] || fail "--list shows fewer than 12 tests"
echo "$out" | grep -q 'FAIL-3' || fail "--list does not show rule IDs"

"$bin/ota-conformance" --bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown option must exit 2"

"$bin/ota-conformance" --only no-such-test --quiet >/dev/null 2>&1
[ $? -eq 2 ] || fail "a pattern matching nothing must exit 2"

err=$("$bin/ota-conformance" --broker 127.0.0.1:1 2>&1)
[ $? -eq 3 ] || fail "an unreachable broker must exit 3"
echo "$err" | grep -q 'cannot connect to the broker at 127.0.0.1:1' || fail "unclear error: $err"

err=$("$bin/ota-conformance" --device /nonexistent.json 2>&1)
[ $? -eq 3 ] || fail "a missing device profile must exit 3"
echo "$err" | grep -q '/nonexistent.json' || fail "unclear error: $err"

# --only by rule ID runs just that rule's tests.
out=$("$bin/ota-conformance" --only FAIL-3 --quiet) || fail "--only FAIL-3 failed: $out"
echo "$out" | grep -q '8 tests, 8 passed' || fail "--only FAIL-3 ran: $out"

# --jobs: device instances side by side give the same verdicts, in catalogue order, and one
# trace that ota-report rebuilds the same JUnit from.
work=$(mktemp -d /tmp/ota-cli-XXXXXX)
mpid=""
trap 'kill "$mpid" 2>/dev/null; rm -rf "$work"' EXIT
out=$("$bin/ota-conformance" --only FAIL-3 --quiet --jobs 3 --junit "$work/j.xml" --trace "$work/t.jsonl") ||
    fail "--jobs 3 --only FAIL-3 failed: $out"
echo "$out" | grep -q '8 tests, 8 passed' || fail "--jobs 3 --only FAIL-3 ran: $out"
want=$("$bin/ota-conformance" --list --only FAIL-3 | awk '{print $2}')
got=$(grep -o '<testcase name="[^"]*"' "$work/j.xml" | cut -d'"' -f2)
[ "$want" = "$got" ] || fail "--jobs JUnit is not in catalogue order: $got"
"$bin/ota-report" --trace "$work/t.jsonl" --junit "$work/r.xml" || fail "ota-report on a --jobs trace failed"
[ "$(grep -c '<testcase ' "$work/r.xml")" -eq 8 ] || fail "ota-report lost tests of a --jobs trace"
out=$("$bin/ota-conformance" --only FAIL-3 --quiet --jobs 2 \
    --dut-cmd "exec '$bin/ota-ref-device' --bug no-digest-check")
[ $? -eq 1 ] || fail "--jobs must fail a broken device: $out"
echo "$out" | grep -q 'FAIL .* FAIL-3:' || fail "--jobs failure does not cite FAIL-3: $out"
"$bin/ota-conformance" --jobs 2 --broker 127.0.0.1:1 >/dev/null 2>&1
[ $? -eq 2 ] || fail "--jobs with an external broker must be refused (exit 2)"

# SIGINT (Ctrl-C, or CI's timeout sending SIGTERM): the running test ends unfinished within a
# moment, no other starts, the reports are still written, exit 130. With --jobs too.
for jobs in 1 2; do
    rm -f "$work/int.jsonl"
    "$bin/ota-conformance" --jobs "$jobs" --only failure --quiet --junit "$work/int.xml" \
        --trace "$work/int.jsonl" >"$work/int.txt" 2>&1 &
    pid=$!
    for _ in $(seq 1 400); do
        [ "$(cat "$work/int.jsonl" 2>/dev/null | grep -c '"info":"end ')" -ge 2 ] && break
        sleep 0.05
    done
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 130 ] || fail "an interrupted run (--jobs $jobs) must exit 130, got $rc: $(cat "$work/int.txt")"
    grep -q '^INTERRUPTED: ' "$work/int.txt" || fail "the summary does not say INTERRUPTED: $(cat "$work/int.txt")"
    xmllint --noout "$work/int.xml" || fail "an interrupted run's JUnit is not valid"
    [ "$(xmllint --xpath 'string(/testsuites/@tests)' "$work/int.xml")" -ge 2 ] ||
        fail "an interrupted run's JUnit lost the finished tests"
done

# --requirements: every rule with its tests; coverage printed.
out=$("$bin/ota-conformance" --requirements) || fail "--requirements exited $?"
echo "$out" | grep -q '^DL-7 ' || fail "--requirements does not list DL-7: $out"
echo "$out" | grep -q 'coverage: 57 of 57 rules' || fail "--requirements coverage: $(echo "$out" | tail -1)"

# A device without the control channel: capability tests are N/A, the rest pass (two instances).
out=$("$bin/ota-conformance" --quiet --jobs 2 --only failure --dut-cmd "exec '$bin/ota-ref-device' --no-channel")
[ $? -eq 0 ] || fail "a correct device without a channel must pass: $out"
echo "$out" | grep -q '1 N/A' || fail "inject-flash must be N/A without a channel: $out"

# A device that is not there at all stops the run (exit 3) with what it did; it does not hang,
# and no test is failed with a misleading cloud error.
out=$("$bin/ota-conformance" --quiet --time-scale 0.2 --only VER-1 --dut-cmd "exit 7" 2>&1)
[ $? -eq 3 ] || fail "a device that cannot start must stop the run with exit 3: $out"
echo "$out" | grep -q 'crashed at every boot (3 times): exit status 7, printing nothing' ||
    fail "unclear: $out"
# --auth off: a device that signs its login wrongly still runs; SEC-1 is N/A and the run says so.
out=$("$bin/ota-conformance" --quiet --auth off --only security --dut-cmd "exec '$bin/ota-ref-device' --bug bad-sign-key")
[ $? -eq 0 ] || fail "--auth off must let an unsigned device through: $out"
echo "$out" | grep -q '3 N/A.*AUTH OFF' || fail "--auth off is not in the summary: $out"

# An external broker (a plain Mosquitto on a free loopback port): the suite joins it, and
# the tests that need the broker plugin are N/A. Its configuration is where Debian's service
# keeps its own (the taken-port check below tells that service apart).
mkdir -p "$work/etc/mosquitto"
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
    printf 'listener %d 127.0.0.1\nallow_anonymous true\n' "$port" >"$work/etc/mosquitto/mosquitto.conf"
    mosquitto -c "$work/etc/mosquitto/mosquitto.conf" >"$work/m.log" 2>&1 &
    mpid=$!
    for _ in $(seq 1 100); do
        mosquitto_pub -p "$port" -t probe -m x 2>/dev/null && break 2
        kill -0 "$mpid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$mpid" 2>/dev/null
done
out=$("$bin/ota-conformance" --quiet --only security --broker "127.0.0.1:$port")
[ $? -eq 0 ] || fail "the suite on an external broker failed: $out"
echo "$out" | grep -q '5 N/A' || fail "SEC-1, SEC-2, both SEC-3 (plain TCP) and PUSH-8 must be N/A on an external broker: $out"
"$bin/ota-conformance" --tls --broker "127.0.0.1:$port" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--tls with an external broker must be refused (exit 2)"
# Upgrades by both transports work on an external broker too (pushes and blocks on the topics).
out=$("$bin/ota-conformance" --quiet --only 'url_used_verbatim' --broker "127.0.0.1:$port") ||
    fail "an HTTP upgrade on an external broker failed: $out"
out=$("$bin/ota-conformance" --quiet --only 'blocks_download_succeeds' --broker "127.0.0.1:$port") ||
    fail "a block download on an external broker failed: $out"
# A device that resumes a block download only after its own 10 s block timeout, and reports no
# progress before its first block: an attempt that started is bounded by
# FAIL-2's 60 s, not by PUSH-1's 10 s.
out=$("$bin/ota-conformance" --quiet --only kick_at_every_block_boundary \
    --dut-cmd "exec '$bin/ota-ref-device' --slow-resume") ||
    fail "a device that resumes after its block timeout must pass the torture test: $out"
# A device that drops a partial buffer when the connection closes and resumes where its kept
# data ends does not break DL-4.
out=$("$bin/ota-conformance" --quiet --only 'DL-[234]' --jobs 3 \
    --dut-cmd "exec '$bin/ota-ref-device' --resume-aligned") ||
    fail "a device resuming at its last whole buffer must pass the download group: $out"
# A device without MQTT block download ignores such pushes: the blocks tests are N/A, not failed.
out=$("$bin/ota-conformance" --quiet --only blocks_download_succeeds \
    --dut-cmd "exec '$bin/ota-ref-device' --http-only") ||
    fail "a device without block download must not fail the blocks tests: $out"
echo "$out" | grep -q '1 N/A' || fail "the blocks test is not N/A for an HTTP-only device: $out"
# One that answers a block push with -2 instead (a device written from docs/dut-contract.md
# by someone who missed its block download part: mosquitto_sub and mosquitto_pub) fails DL-5,
# and the failure says how to opt out.
cat >"$work/minus2.sh" <<'EOF2'
pk=$OTA_PRODUCT_KEY dn=$OTA_DEVICE_NAME
cid="$pk.$dn|securemode=3,signmethod=hmacsha256,timestamp=2524608000000|"
pw=$(printf 'clientId%s.%sdeviceName%sproductKey%stimestamp2524608000000' "$pk" "$dn" "$dn" "$pk" |
    openssl dgst -sha256 -hmac "$OTA_DEVICE_SECRET" | sed 's/.* //')
pub() { mosquitto_pub -h "$OTA_MQTT_HOST" -p "$OTA_MQTT_PORT" -i "${cid%|},_v=pub|" -u "$dn&$pk" -P "$pw" -q 1 "$@"; }
mosquitto_sub -h "$OTA_MQTT_HOST" -p "$OTA_MQTT_PORT" -i "$cid" -u "$dn&$pk" -P "$pw" -q 1 \
    -t "/ota/device/upgrade/$pk/$dn" | while read -r push; do
    pub -t "/ota/device/progress/$pk/$dn" -m '{"id":"2","params":{"step":"-2","desc":"no url"}}'
done &
sleep 0.5
pub -t "/ota/device/inform/$pk/$dn" -m "{\"id\":\"1\",\"params\":{\"version\":\"$OTA_FIRMWARE_VERSION\"}}"
wait
EOF2
out=$(timeout 120 "$bin/ota-conformance" --only blocks_download_succeeds --dut-cmd "exec sh '$work/minus2.sh'")
[ $? -eq 1 ] || fail "a device answering a block push with -2 must fail: $out"
# The terminal wraps long lines: read the failure as one line.
echo "$out" | tr '\n' ' ' | tr -s ' ' | grep -q 'DL-5: .*got step "-2" (a device without MQTT block download ignores such a push.*docs/dut-contract.md)' ||
    fail "DL-5's failure does not say how a device without block download opts out: $out"
# A device still looping on the previous test's URL, reporting -2 after each try: its requests and steps are shown as late and never judged against the next test, so
# the next test does not pass on a stale -2.
out=$("$bin/ota-conformance" --only 'download_40*' --trace "$work/late.jsonl" \
    --dut-cmd "exec '$bin/ota-ref-device' --no-channel --bug loop-old-url")
echo "$out" | grep -q '^FAIL .*download_403_reports_minus_2' ||
    fail "a stale -2 of the previous test's job was judged against the next test: $out"
grep -q '"info":"late: record' "$work/late.jsonl" || fail "late messages are not marked in the trace"
# A device that reports a complete but short response as -2 at once is correct too (DL-2).
out=$("$bin/ota-conformance" --quiet --only survives_short_file \
    --dut-cmd "exec '$bin/ota-ref-device' --short-body-fails") ||
    fail "a device that reports a short file as -2 must pass: $out"
# A device that never subscribes gets its pushes from our plugin, which
# delivers unasked as the real cloud does; on a plain broker they never reach it, and the
# test is inconclusive, never the device's failure.
nosub="exec '$bin/ota-ref-device' --no-subscribe"
out=$("$bin/ota-conformance" --quiet --only live_push_starts_upgrade --dut-cmd "$nosub") ||
    fail "a device that never subscribes must pass with the plugin: $out"
out=$("$bin/ota-conformance" --only live_push_starts_upgrade --broker "127.0.0.1:$port" \
    --dut-cmd "$nosub" --junit "$work/nosub.xml")
[ $? -eq 0 ] || fail "an undelivered push must not fail the device: $out"
echo "$out" | grep -q '^INCONCLUSIVE .*live_push_starts_upgrade' || fail "not inconclusive: $out"
echo "$out" | grep -q '1 inconclusive' || fail "the summary does not count it: $out"
grep -q '<error message="[^"]*without the otaauth plugin' "$work/nosub.xml" ||
    fail "JUnit does not show the inconclusive test as an error"

# A fixed port that is taken stops the run (exit 3) naming the port and who holds it.
err=$("$bin/ota-conformance" --quiet --only VER-1 --mqtt-port "$port" 2>&1)
[ $? -eq 3 ] || fail "a taken fixed port must exit 3: $err"
echo "$err" | grep -q "MQTT port $port, but it is taken by pid $mpid (mosquitto)" ||
    fail "the taken port's holder is not named: $err"
# ... and where the port came from, and the fix: the option, or the profile's field; Debian's
# mosquitto service (the package depends on mosquitto) is named with how to stop it.
echo "$err" | grep -q -- "--mqtt-port asks for the MQTT port $port, .*sudo systemctl disable --now mosquitto), or give --mqtt-port another port" ||
    fail "the taken port's origin or fix is not named: $err"
sed "s/\"mqttPort\": [0-9]*/\"mqttPort\": $port/" "$src/fixtures/devices/ref-network.json" >"$work/fixed.json"
err=$("$bin/ota-conformance" --quiet --only VER-1 --device "$work/fixed.json" 2>&1)
[ $? -eq 3 ] || fail "a taken port of the profile must exit 3: $err"
echo "$err" | grep -q "the device profile $work/fixed.json fixes (endpoints.mqttPort) the MQTT port $port, but it is taken by pid $mpid (mosquitto): .*override it with --mqtt-port N" ||
    fail "the profile's taken port does not name the profile and the fix: $err"

# A device that never comes up stops the run with one sentence, not a failure per test.
err=$("$bin/ota-conformance" --quiet --only VER-1 --time-scale 0.2 --dut-cmd 'echo booting; sleep 60' 2>&1)
[ $? -eq 3 ] || fail "a device that never connects must exit 3: $err"
echo "$err" | grep -q 'never connected to the broker at 127.0.0.1:[0-9]* within 4 s; its last log lines:' ||
    fail "unclear: $err"

# A malformed profile names the file, the field and what is wrong.
printf '{"productKey":"a1P","deviceName":"d","deviceSecret":"s","endpoints":{"httpPort":"80"}}' >"$work/bad.json"
err=$("$bin/ota-conformance" --quiet --device "$work/bad.json" 2>&1)
[ $? -eq 3 ] || fail "a malformed profile must exit 3"
echo "$err" | grep -q "$work/bad.json: field 'endpoints.httpPort' must be a number" || fail "unclear: $err"
echo "PASS"
