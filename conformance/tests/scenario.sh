#!/usr/bin/env bash
# Tests as data: a scenario file with an expect block that exists only in a
# temporary fixtures folder is a catalogue test. Against the reference device
# it passes; the same fault with a wrong expectation fails citing the rule
# the expectation names; a malformed expect block stops the run (exit 3).
# usage: scenario.sh BIN_DIR
set -u
bin=$1
src=$(cd "$(dirname "$0")/../../fixtures" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/ota-scenario-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/scenarios"
ln -s "$src/devices" "$work/devices"
cp "$src"/scenarios/*.json "$work/scenarios/"

# A new fault test in an existing group: README's "Adding a test" example, taken as it is (the
# first json block of that section): every download answered 502 must end in "-2" within
# FAIL-2's bound, and the device must still run its old version (VER-6).
readme=$(cd "$(dirname "$0")/../.." && pwd)/README.md
awk '/^## Adding a test/ {on = 1} on && /^```json$/ {take = 1; next} take && /^```$/ {exit} take' \
    "$readme" >"$work/scenarios/http-status-502.json"
grep -q '"name": "http-status-502"' "$work/scenarios/http-status-502.json" ||
    fail "README's \"Adding a test\" has no http-status-502.json example"
[ ! -e "$src/scenarios/http-status-502.json" ] ||
    fail "fixtures/scenarios/http-status-502.json exists: README says it is the file you would add"
# A broken expectation, in a group of its own: the same fault cannot end in success.
cat >"$work/scenarios/http-502-wrongly-expected.json" <<'EOF'
{
  "name": "http-502-wrongly-expected",
  "about": "every download answered 502 Bad Gateway",
  "transport": "http",
  "fault": { "kind": "http-status", "value": 502, "count": -1 },
  "expect": {
    "test": "download_502_wrongly_succeeds",
    "group": "broken",
    "outcome": "success",
    "rules": { "outcome": "DL-2" }
  }
}
EOF

# The catalogue: every stock test where it was, the new one at the end of its group, the new
# group after the others.
stock=$("$bin/ota-conformance" --list) || fail "--list exited $?"
list=$("$bin/ota-conformance" --list --fixtures "$work") || fail "--list --fixtures exited $?"
[ "$(echo "$list" | grep -v '^broken ' | grep -v download_502_)" = "$stock" ] ||
    fail "the stock tests moved or changed: $list"
echo "$list" | awk '$1 == "failure"' | tail -1 |
    grep -qE '^failure +download_502_reports_minus_2 +FAIL-2 VER-6$' ||
    fail "the new test is not the last of group failure, citing FAIL-2 VER-6: $list"
[ "$(echo "$list" | tail -1 | awk '{print $1, $2, $3}')" = "broken download_502_wrongly_succeeds DL-2" ] ||
    fail "the new group is not last: $list"

out=$("$bin/ota-conformance" --fixtures "$work" --only download_502_reports_minus_2 2>&1) ||
    fail "the new scenario test failed against the reference device: $out"
echo "$out" | grep -qE '^PASS +failure +download_502_reports_minus_2' || fail "not run: $out"

out=$("$bin/ota-conformance" --fixtures "$work" --only broken --quiet 2>&1)
[ $? -eq 1 ] || fail "a broken expectation must fail the run (exit 1): $out"
echo "$out" | grep -q 'FAIL broken/download_502_wrongly_succeeds DL-2:' ||
    fail "the broken expectation does not fail citing DL-2: $out"
echo "$out" | grep -q 'step "-2"' || fail "the failure does not say what came: $out"

# A malformed expect block stops the run before anything starts, naming the file.
sed 's/"bound": "FAIL-2"/"bound": "NO-SUCH-BOUND"/' \
    "$work/scenarios/http-status-502.json" >"$work/bad.json" && mv "$work/bad.json" "$work/scenarios/http-status-502.json"
err=$("$bin/ota-conformance" --fixtures "$work" --list 2>&1)
[ $? -eq 3 ] || fail "a bad expect block must exit 3: $err"
echo "$err" | grep -q 'http-status-502.json: "bound"' || fail "unclear error: $err"
sed 's/"NO-SUCH-BOUND"/"FAIL-2"/; s/"steps"/"stpes"/' "$work/scenarios/http-status-502.json" >"$work/bad.json" &&
    mv "$work/bad.json" "$work/scenarios/http-status-502.json"
err=$("$bin/ota-conformance" --fixtures "$work" --list 2>&1)
[ $? -eq 3 ] || fail "a misspelt expect field must exit 3: $err"
echo "$err" | grep -q 'no field "stpes"' || fail "unclear error: $err"
echo "scenario files as tests: ok"
