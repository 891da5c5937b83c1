#!/usr/bin/env bash
# The power group against the reference device: every cut point of its table
# is cut and every check passes, with and without the control channel (then
# PWR-2 is proven by the next upgrade instead of STATUS image=); the table,
# each cut and the group's run time are printed. The bug switches that break
# PWR-1, PWR-2 and PWR-4 are self-check entries (selfcheck_bug_pwr-*).
set -u
bin=$1
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work power

out=$(timeout 240 "$bin/ota-conformance" --strict --only power --trace "$work/trace.jsonl" 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "the reference device must pass the power group (exit $rc)"
echo "$out" | grep -q '3 tests, 3 passed, 0 failed, 0 N/A, 0 warnings' || fail "not clean: $out"
echo "$out" | grep -qE '^power group: 3 tests in [0-9.]+ s \(at most 12 cuts each\)$' ||
    fail "the group's run time is not printed"
# Each test learned a table and cut at its points.
[ "$(grep -c 'power: the uncut upgrade' "$work/trace.jsonl")" -eq 3 ] ||
    fail "not every test learned its cut points"
grep -q 'cut points: 1 create ' "$work/trace.jsonl" || fail "the state-folder table names no changes"
for what in 'rename to pending' 'rename to version' 'progress report 1' 'byte 2048 received' \
    'block request 2'; do
    grep -q "power: cut [0-9]* at the $what" "$work/trace.jsonl" || fail "no cut at the $what"
done
# Cuts after the commit point: the boot finished the upgrade.
grep -q 'finished the upgrade to' "$work/trace.jsonl" || fail "no cut was rolled forward at boot"
grep -oE 'power: [0-9]+ cuts of [0-9]+ cut points in [0-9.]+ s' "$work/trace.jsonl"

# No control channel, so no image-digest: PWR-2 is judged by the next upgrade.
out=$(timeout 120 "$bin/ota-conformance" --strict --quiet --only cut_at_every_flash_write \
    --dut-cmd "exec '$bin/ota-ref-device' --no-channel" 2>&1) ||
    fail "a device without the control channel must pass: $out"
echo "$out" | grep -q 'PASSED: 1 test, 1 passed' || fail "not run: $out"

# A board (ota-pty-board plays it on a pty) whose profile cycles its power with a command:
# here SIGKILL to the device process the board runs, which the board starts again. It is cut
# at its download points; its flash is its own, so the flash-write test is N/A.
for try in 1 2 3; do
    mqtt=$((20000 + (RANDOM % 12000))) # below the ephemeral ports (32768-), which clients take
    http=$((mqtt + 1))
    rm -rf "$work/state" && mkdir -p "$work/state"
    "$bin/ota-pty-board" --link "$work/ttyREF" --reenumerate -- \
        "$bin/ota-ref-device" --host 127.0.0.1 --port "$mqtt" \
        --product-key a1RefProd01 --device-name ref-device-01 \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state" 2>>"$work/board.log" &
    board=$!
    cat >"$work/board.json" <<JSON
{ "productKey": "a1RefProd01", "deviceName": "ref-device-01",
  "deviceSecret": "0123456789abcdef0123456789abcdef", "module": "default",
  "firmwareVersion": "1.0.0", "adapter": "serial",
  "endpoints": { "listen": "127.0.0.1", "urlHost": "127.0.0.1" },
  "reset": { "method": "command" }, "powerCycleCommand": "pkill -KILL -P $board",
  "serial": { "port": "$work/ttyREF", "readyTimeout": 15 }, "timeBounds": { "boot": 20 } }
JSON
    out=$(timeout 200 "$bin/ota-conformance" --device "$work/board.json" --mqtt-port "$mqtt" \
        --http-port "$http" --strict --only power --trace "$work/board.jsonl" 2>&1)
    rc=$?
    stop_board
    echo "$out" | grep -qE 'is taken|taken, or below|would not start' || break
    echo "ports $mqtt/$http taken (try $try), choosing others"
done
echo "$out"
[ "$rc" -eq 0 ] || { tail -20 "$work/board.log"; fail "the board must pass the power group (exit $rc)"; }
echo "$out" | grep -q '3 tests, 2 passed, 0 failed, 1 N/A' || fail "board: not as expected: $out"
grep -q 'power: cut [0-9]* at the block request 1' "$work/board.jsonl" || fail "the board was not cut"
echo "power group: passed"
