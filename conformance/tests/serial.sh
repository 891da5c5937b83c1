#!/usr/bin/env bash
# The whole catalogue against the reference device driven through the serial
# adapter: ota-pty-board plays a board on a USB serial port (a pty whose link
# is the profile's port; every reboot re-enumerates it: a new pty under the
# same link), the device's control channel and log on one side, the adapter
# on the other. The device has its settings compiled in (options, no
# environment) and is reset over the channel. Every test must pass, as with
# the process adapter. A board that never says !READY is told with its own
# last log lines. Ports are chosen at run time; a taken one is tried
# again with others.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work serial

start_board() {
    mkdir -p "$work/state"
    "$bin/ota-pty-board" --link "$work/ttyREF" --reenumerate -- \
        "$bin/ota-ref-device" --host 127.0.0.1 --port "$mqtt" \
        --product-key a1RefProd01 --device-name ref-device-01 \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state" 2>>"$work/board.log" &
    board=$!
}

# Clear errors before any test: a missing port, a board that never announces its channel.
# The profile's fixed ports are other tests' too (ctest -j): these runs take others.
p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
err=$("$bin/ota-conformance" --device "$src/fixtures/devices/ref-serial.json" \
    --mqtt-port "$p" --http-port "$((p + 1))" --serial-port "$work/no-such-tty" --only VER-1 2>&1)
[ $? -eq 3 ] || fail "a missing port must exit 3: $err"
echo "$err" | grep -q "no such port $work/no-such-tty: is the board plugged in?" || fail "unclear: $err"
"$bin/ota-pty-board" --link "$work/ttySILENT" -- sh -c 'while read -r l; do echo "log $l"; done' &
board=$!
for _ in $(seq 1 100); do [ -e "$work/ttySILENT" ] && break; sleep 0.05; done
err=$(timeout 60 "$bin/ota-conformance" --device "$src/fixtures/devices/ref-serial.json" --time-scale 0.2 \
    --serial-port "$work/ttySILENT" --mqtt-port 1 --http-port "$((p + 1))" --only VER-1 2>&1)
[ $? -eq 3 ] || fail "a board that never prints !READY must exit 3: $err"
echo "$err" | grep -q "never printed !READY" || fail "unclear: $err"
stop_board
# A board whose firmware stops at boot (no version built in): the message names its own line.
"$bin/ota-pty-board" --link "$work/ttyNOVER" -- "$bin/ota-ref-device" --host 127.0.0.1 --port 1 \
    --product-key a1RefProd01 --device-name ref-device-01 \
    --device-secret 0123456789abcdef0123456789abcdef --state-dir "$work/state" 2>>"$work/board.log" &
board=$!
for _ in $(seq 1 100); do [ -e "$work/ttyNOVER" ] && break; sleep 0.05; done
err=$(timeout 60 "$bin/ota-conformance" --device "$src/fixtures/devices/ref-serial.json" --time-scale 0.2 \
    --serial-port "$work/ttyNOVER" --mqtt-port 1 --http-port "$((p + 1))" --only VER-1 2>&1)
[ $? -eq 3 ] || fail "a board stopping at boot must exit 3: $err"
echo "$err" | grep -qE "^  ota-ref-device: OTA_FIRMWARE_VERSION is not set \(see docs/dut-contract.md\)( \([0-9]+ times\))?$" ||
    fail "the board's own line is not in the message: $err"
stop_board

rc=3
for try in 1 2 3 4 5; do
    mqtt=$((20000 + (RANDOM % 12000))) # below the ephemeral ports (32768-), which clients take
    http=$((mqtt + 1))
    start_board
    timeout 500 "$bin/ota-conformance" --device "$src/fixtures/devices/ref-serial.json" \
        --serial-port "$work/ttyREF" --mqtt-port "$mqtt" --http-port "$http" \
        ${OTA_SERIAL_ONLY:+--only "$OTA_SERIAL_ONLY"} \
        --junit "$work/junit.xml" --html "$work/report.html" --trace "$work/trace.jsonl" \
        >"$work/out.txt" 2>&1
    rc=$?
    stop_board
    grep -qE 'is taken|taken, or below|would not start' "$work/out.txt" || break
    echo "ports $mqtt/$http taken (try $try), choosing others"
done
cat "$work/out.txt"
[ "$rc" -eq 0 ] || { tail -20 "$work/board.log"; fail "the board behind the serial adapter must pass the catalogue (exit $rc)"; }
na=$(grep '^N/A ' "$work/out.txt" | awk '{print $3}' | sort | tr '\n' ' ')
[ -n "${OTA_SERIAL_ONLY:-}" ] || [ "$na" = "cut_at_every_block_request cut_at_every_flash_write cut_at_every_transfer_step diff_for_another_base_refused diff_upgrade_completes foreign_broker_certificate_refused foreign_certificate_refused foreign_image_refused header_broken_digest_right version_comes_from_the_image " ] ||
    fail "unexpected N/A tests: $na"
grep -q '"kind":"log"' "$work/trace.jsonl" || fail "the board's log lines are not in the trace"
grep -q 'adapter.*serial' "$work/trace.jsonl" || fail "the trace does not say adapter serial"
grep -q 'port-lost' "$work/trace.jsonl" || fail "re-enumeration (port-lost) is not in the trace"
echo "serial board: catalogue passed"
