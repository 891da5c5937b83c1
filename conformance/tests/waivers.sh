#!/usr/bin/env bash
# --waivers: the reference device's bug switch no-module breaks VER-5. A live
# waiver of that rule turns the failure into "waived" on the terminal, in
# JUnit (no <failure>, a property with the reason) and in the HTML report,
# with the same counts in all three, and the run passes (exit 0); ota-report
# rebuilds the same from the trace. A waiver of another test waives nothing:
# the failure still fails. An expired waiver waives nothing and is said on
# the terminal and in both reports. A malformed file is exit 2 with
# line:column.
# usage: waivers.sh BIN_DIR
set -u
bin=$1
work=$(mktemp -d /tmp/ota-waivers-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
xq() { xmllint --xpath "$2" "$work/$1.xml" 2>/dev/null; }
dut="exec '$bin/ota-ref-device' --bug no-module"
# Three tests: inform_module_matches fails VER-5, the other two pass.
run() {
    "$bin/ota-conformance" --only inform_ --time-scale 0.5 --dut-cmd "$dut" --waivers "$work/$1.json" \
        --junit "$work/$1.xml" --html "$work/$1.html" --trace "$work/$1.jsonl" >"$work/$1.txt" 2>&1
}

cat >"$work/live.json" <<'EOF'
[
  { "rule": "VER-5", "reason": "module naming is fixed in 2.1 (TICKET-42)", "until": "2999-12-31" }
]
EOF
run live || fail "a live waiver of the only failure must pass the run: $(cat "$work/live.txt")"
out=$(cat "$work/live.txt")
echo "$out" | grep -q '^WAIVED  version  inform_module_matches' || fail "no WAIVED line: $out"
echo "$out" | grep -q 'waived: module naming is fixed in 2.1 (TICKET-42) (waiver of rule VER-5' ||
    fail "the terminal does not give the reason: $out"
echo "$out" | tail -1 | grep -q '^PASSED: 3 tests, 2 passed, 0 failed, 0 N/A, 1 waived' ||
    fail "the summary's counts: $(echo "$out" | tail -1)"
[ "$(xq live 'string(/testsuites/@tests)') $(xq live 'string(/testsuites/@failures)')" = "3 0" ] ||
    fail "JUnit counts: $(head -3 "$work/live.xml")"
[ "$(xq live 'count(//failure)')" = 0 ] || fail "a waived test is a <failure> in JUnit"
xq live 'string(//testcase[@name="inform_module_matches"]//property[@name="waived"]/@value)' |
    grep -q 'TICKET-42' || fail "JUnit has no waived property with the reason"
[ "$(xq live 'string(//testcase[@name="inform_module_matches"]//property[@name="verdict"]/@value)')" = waived ] ||
    fail "JUnit's verdict property is not waived"
grep -q '<span id="n-passed">2</span> passed, <span id="n-failed">0</span> failed' "$work/live.html" &&
    grep -q '<span id="n-waived">1</span> waived' "$work/live.html" &&
    grep -q '<span class="v">WAIVED</span>' "$work/live.html" && grep -q 'TICKET-42' "$work/live.html" ||
    fail "the HTML report does not show the waived test and its counts"
# Rebuilt from the trace alone: the same.
"$bin/ota-report" --trace "$work/live.jsonl" --junit "$work/rebuilt.xml" >/dev/null 2>&1 ||
    fail "ota-report of a run with a waived test failed"
[ "$(xq rebuilt 'string(/testsuites/@failures)') $(xq rebuilt 'count(//property[@name="waived"])')" = "0 1" ] ||
    fail "ota-report does not rebuild the waived test"

# A waiver of another test waives nothing: the failure counts.
cat >"$work/other.json" <<'EOF'
[ { "test": "version/inform_ids_differ", "reason": "flaky ids", "until": "2999-12-31" } ]
EOF
run other && fail "a waiver of another test must not pass the run: $(cat "$work/other.txt")"
grep -q '^FAIL  version  inform_module_matches' "$work/other.txt" || fail "$(cat "$work/other.txt")"

# Expired: loud, and no longer waives.
sed 's/2999-12-31/2001-01-31/' "$work/live.json" >"$work/expired.json"
run expired
[ $? -eq 1 ] || fail "an expired waiver must not waive (exit 1): $(cat "$work/expired.txt")"
grep -q '^EXPIRED WAIVER: the waiver of rule VER-5 expired on 2001-01-31 and no longer waives' \
    "$work/expired.txt" || fail "the terminal does not say the waiver expired: $(cat "$work/expired.txt")"
xq expired 'string(//testsuite[1]/properties/property[@name="waiver.expired"]/@value)' |
    grep -q 'expired on 2001-01-31' || fail "JUnit does not say the waiver expired"
grep -q 'Expired waiver</b>: the waiver of rule VER-5' "$work/expired.html" ||
    fail "the HTML report does not say the waiver expired"
[ "$(xq expired 'count(//failure)')" = 1 ] || fail "the failure is not a failure any more"

# Malformed: exit 2 before anything starts, with line:column.
printf '[\n  { "rule": "VER-5", "reason": "x", "until": "2999-12-31" },\n  { "rule": "VER-5" "reason": "y" }\n]\n' \
    >"$work/bad.json"
err=$("$bin/ota-conformance" --only inform_ --waivers "$work/bad.json" 2>&1)
[ $? -eq 2 ] || fail "a malformed waiver file must exit 2: $err"
echo "$err" | grep -q "bad.json:3:21: not valid JSON" || fail "no line:column: $err"
printf '[\n  { "rule": "VER-5", "reason": "x", "until": "2999-12-31" },\n    { "test": "a", "reason": "y", "until": "2026-02-30" }\n]\n' \
    >"$work/bad.json"
err=$("$bin/ota-conformance" --only inform_ --waivers "$work/bad.json" 2>&1)
[ $? -eq 2 ] || fail "a bad date must exit 2: $err"
echo "$err" | grep -q 'bad.json:3:5: waiver 2: "until" must be a date' || fail "unclear: $err"
echo "waivers: ok"
