#!/usr/bin/env bash
# The runner's command line: listing, filtering, bad usage and an
# unreachable broker each end with a clear message and the documented status.
set -u
bin=$1
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
echo "$out" | grep -q '1 tests, 1 passed' || fail "--only FAIL-3 ran: $out"

# A device without the control channel: capability tests are N/A, the rest pass.
out=$("$bin/ota-conformance" --quiet --dut-cmd "exec '$bin/ota-ref-device' --no-channel")
[ $? -eq 0 ] || fail "a correct device without a channel must pass: $out"
echo "$out" | grep -q '1 N/A' || fail "inject-flash must be N/A without a channel: $out"

# A device that is not there at all fails with a reason, it does not hang.
out=$("$bin/ota-conformance" --quiet --time-scale 0.2 --only VER-1 --dut-cmd "exit 7" 2>&1)
[ $? -eq 1 ] || fail "a device that cannot start must fail the run: $out"
echo "PASS"
