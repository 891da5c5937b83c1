#!/usr/bin/env bash
# Verdicts that hold on real firmware: devices that are right in ways real
# builds are (no block download at all, download threads of earlier tests
# still fetching old URLs, a push lost right after a failure report, a HAL's
# stock version reported before the new one, a crash on a push a SHOULD rule
# covers, a restartable device that reboots on its own after each failure) get
# the verdict judging.md gives them, and no other. (The persistent-session and
# the ThingsPanel-by-token devices run the whole catalogue in selfcheck.sh.)
# usage: verdicts.sh BIN_DIR
set -u
bin=$1
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work verdicts
ref="$bin/ota-ref-device"

# A device without MQTT block download: the blocks group is N/A, never FAIL-R, and the
# 10 s it takes to learn that is spent once per run, not once per test.
start=$(date +%s)
out=$("$bin/ota-conformance" --only blocks --time-scale 0.5 --junit "$work/http-only.xml" \
    --dut-cmd "exec '$ref' --http-only" 2>&1) || fail "an HTTP-only device must not fail the blocks group: $out"
took=$(($(date +%s) - start))
echo "$out" | grep -q ' 0 failed, 17 N/A' || fail "the blocks group is not N/A for an HTTP-only device: $out"
[ "$(grep -c 'learned once per run' "$work/http-only.xml")" -ge 16 ] ||
    fail "the HTTP-only device's ignored block pushes were not learned once: $(grep -c 'did not act' "$work/http-only.xml") waits"
grep -q 'FAIL-R' <<<"$(xmllint --xpath '//failure' "$work/http-only.xml" 2>/dev/null)" &&
    fail "a device that takes no block push failed FAIL-R"
[ "$took" -lt 50 ] || fail "learning that the device takes no block push took ${took} s"

# A device without MQTT block download that answers such a push with "-1" (FAIL-1 lets it):
# the same N/A, never FAIL-2 or FAIL-R. A device that does take blocks and answers "-1" is
# still judged (the self-check's switches), and so is "-1" to an unusable block push.
out=$("$bin/ota-conformance" --only blocks --time-scale 0.5 --junit "$work/refuses.xml" \
    --dut-cmd "exec '$ref' --http-only-refuses" 2>&1) ||
    fail "a device answering -1 to block pushes must not fail the blocks group: $out"
echo "$out" | grep -q ' 0 failed, 17 N/A' || fail "the blocks group is not N/A for it: $out"
grep -q 'with &quot;-1&quot; before asking for any block\|with "-1" before asking for any block' \
    "$work/refuses.xml" || fail "the N/A does not say the device answered -1: $out"

# The same device with Link SDK 4.x's detached download threads: each failed HTTP download
# leaves one fetching its old URL during later tests. It takes every HTTP push at once, so it
# is not stuck: the block tests after the failures are N/A, not FAIL-R.
out=$("$bin/ota-conformance" --only FAIL-2 --junit "$work/detached.xml" --trace "$work/detached.jsonl" \
    --dut-cmd "exec '$ref' --http-only --detached-retries" 2>&1) ||
    fail "a device with detached download threads that takes no block push must not fail: $out"
echo "$out" | grep -q ' 0 failed, 3 N/A' || fail "the block tests are not N/A: $out"
grep -q '"info":"late: record' "$work/detached.jsonl" ||
    fail "the detached threads' requests never reached a later test (nothing proven)"

# A device that loses a push landing within 0.5 s of its own failure report: the suite waits
# 1 s after a terminal step before the next push of the same test, as a real cloud does.
out=$("$bin/ota-conformance" --only FAIL-R --dut-cmd "exec '$ref' --deaf-after-report" 2>&1) ||
    fail "the next push came sooner than 1 s after the device's failure report: $out"

# A HAL's stock version at boot, then the new one at once: the upgrade passes FINAL-1, the
# extra report warns VER-7 (and fails it, not FINAL-1, under --strict).
stock="exec '$ref' --stock-version-first"
out=$("$bin/ota-conformance" --only target_version_reported_after_upgrade --dut-cmd "$stock" 2>&1) ||
    fail "a device reporting its stock version before the target must pass FINAL-1: $out"
echo "$out" | grep -q 'warning VER-7: after its reboot the device reported version "1.0.0"' ||
    fail "the extra version report does not warn VER-7: $out"
out=$("$bin/ota-conformance" --strict --only target_version_reported_after_upgrade \
    --junit "$work/stock.xml" --dut-cmd "$stock" 2>&1)
[ $? -eq 1 ] || fail "--strict must fail the extra version report: $out"
[ "$(xmllint --xpath "count(//failure[@type='VER-7'])" "$work/stock.xml")" = 1 ] ||
    fail "under --strict the extra report must fail VER-7: $out"

# A crash on a push a SHOULD rule covers (FAIL-1) warns, naming the crash, its exit status and
# the last log lines; --strict fails it.
crash="exec '$ref' --bug crash-on-push"
out=$("$bin/ota-conformance" --only unusable_push_is_refused --time-scale 0.5 --dut-cmd "$crash" 2>&1) ||
    fail "a crash under a SHOULD rule must warn, not fail: $out"
echo "$out" | grep -q 'warning FAIL-1: the device crashed during the test: killed by signal 6' ||
    fail "the crash warning does not name the crash and its status: $out"
# The terminal wraps long lines: read the warning as one line.
echo "$out" | tr '\n' ' ' | tr -s ' ' | grep -q 'warning FAIL-1: the device crashed.*last log lines.*\[ref\]' ||
    fail "the crash warning does not carry the last log lines: $out"
[ "$(echo "$out" | grep -c 'warning FAIL-1')" = 1 ] || fail "one crash warning per test: $out"
out=$("$bin/ota-conformance" --strict --only unusable_push_is_refused --dut-cmd "$crash" 2>&1)
[ $? -eq 1 ] || fail "--strict must fail a crash under a SHOULD rule: $out"
# A device the suite can restart that reboots on its own 2 s after every failure report (as
# the 3.x device SDK exits after every download): the next test's push lands while it goes
# down and is delivered again on reconnect. The suite waits for that, as for a network device
# (network.sh), never judging the reboot; the fault flash_failure injected into the old run
# is injected again. wrong_sha256 fails, then wrong_digest and flash_failure start in reboots.
out=$("$bin/ota-conformance" --only '[wf][rl]*_minus_[34]' --trace "$work/reboots.jsonl" \
    --dut-cmd "exec '$ref' --reboot-after-failure 2" 2>&1) ||
    fail "a restartable device rebooting after each failure must pass: $out"
echo "$out" | grep -q ' 3 passed' || fail "not the three tests meant: $out"
grep -q 'before it acted on the push' "$work/reboots.jsonl" ||
    fail "no push landed in a reboot window: the case was not exercised"
# A product build with its module compiled in, run as a process: it ignores OTA_MODULE. With
# "compiledIn" in its profile the module tests judge the module the profile names; without,
# the suite's restart as module MCU fails VER-5 (what such a build met before the field).
fixed="exec '$ref' --module default"
cat >"$work/compiled-in.json" <<EOF
{"productKey": "a1RefProd01", "deviceName": "ref-device-01",
 "deviceSecret": "0123456789abcdef0123456789abcdef", "module": "default",
 "adapter": "process", "command": "$fixed", "compiledIn": true}
EOF
out=$("$bin/ota-conformance" --only '*_module_matches' \
    --device "$work/compiled-in.json" 2>&1) ||
    fail "a build with its module compiled in must pass the module tests: $out"
echo "$out" | grep -q ' 2 passed' || fail "not the two module tests: $out"
out=$("$bin/ota-conformance" --only inform_module_matches --dut-cmd "$fixed" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q 'VER-5' ||
    fail "without compiledIn the ignored OTA_MODULE=MCU must fail VER-5 (the test can fail): $out"
echo "verdicts: ok (blocks learned in ${took} s)"
