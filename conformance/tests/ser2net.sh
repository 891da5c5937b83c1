#!/usr/bin/env bash
# A board on another machine: Debian's ser2net exports ota-pty-board's pty
# on a loopback port chosen at run time, and the suite meets the board at
# rfc2217://127.0.0.1:PORT. A pty has no modem lines, so ser2net runs with
# tests/pty_modem_shim.c preloaded: its DTR/RTS ioctls on the pty are logged
# and ota-pty-board --modem follows them as an ESP32's auto-reset circuit.
# Checked: a refused server and a raw TCP port asked for a DTR/RTS reset are
# exit 3 with one sentence; the whole catalogue passes with every reboot made
# by the esp32 DTR/RTS sequence through ser2net (the sequence is seen at the
# pty side); ser2net stopped and started again mid-run is survived.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work ser2net
shim=$(cd "$bin/../lib" && pwd)/libota_pty_modem_shim.so
command -v ser2net >/dev/null || fail "ser2net is not installed (./ci/install-deps installs it)"
[ -f "$shim" ] || fail "no $shim (build the tree first)"
s2n=""

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

free_port() {
    local p
    while :; do
        p=$((20000 + (RANDOM % 12000))) # below the ephemeral ports (32768-)
        listening "$p" || { echo "$p"; return; }
    done
}

start_board() {
    mkdir -p "$work/state"
    "$bin/ota-pty-board" --link "$work/ttyREF" --modem "$work/modem.log" -- \
        "$bin/ota-ref-device" --host 127.0.0.1 --port "$mqtt" \
        --product-key a1RefProd01 --device-name ref-device-01 \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state" 2>>"$work/board.log" &
    board=$!
    for _ in $(seq 1 100); do [ -e "$work/ttyREF" ] && break; sleep 0.05; done
}

# ser2net in the foreground (-n), never as a service; its own pid file.
start_ser2net() {
    cat >"$work/ser2net.yaml" <<EOF
%YAML 1.1
---
connection: &board
  accepter: telnet(rfc2217),tcp,127.0.0.1,$port
  connector: serialdev,$work/ttyREF,115200n81,local
  options:
    kickolduser: true
EOF
    LD_PRELOAD=$shim OTA_MODEM_LOG=$work/modem.log \
        ser2net -n -c "$work/ser2net.yaml" -P "$work/ser2net.pid" >>"$work/ser2net.log" 2>&1 &
    s2n=$!
    pids+=("$s2n")
    for _ in $(seq 1 100); do listening "$port" && return 0; sleep 0.05; done
    fail "ser2net did not listen on $port"
}

stop_ser2net() {
    kill "$s2n" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$s2n" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$s2n" 2>/dev/null
    wait "$s2n" 2>/dev/null
}

# The profile of ref-serial.json with the reset of an ESP32 dev board: DTR/RTS, esp32 preset.
sed 's/"reset": { "method": "channel" }/"reset": { "method": "dtr-rts", "sequence": "esp32" }/' \
    "$src/fixtures/devices/ref-serial.json" >"$work/esp32-lab.json"
grep -q dtr-rts "$work/esp32-lab.json" || fail "could not make the DTR/RTS profile"

# Nothing listens: exit 3, one sentence. The profile's fixed ports are other tests' too (ctest -j):
# these two runs take free ones.
closed=$(free_port)
ports="--mqtt-port $(free_port) --http-port $(free_port)"
# shellcheck disable=SC2086
err=$("$bin/ota-conformance" --device "$work/esp32-lab.json" $ports \
    --serial-port "rfc2217://127.0.0.1:$closed" --only VER-1 2>&1 >"$work/refused.txt")
[ $? -eq 3 ] || fail "a refused port server must exit 3: $err"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "a refused server is one sentence (on stderr): $err"
echo "$err" | grep -q "refused the connection: nothing listens on 127.0.0.1 port $closed" ||
    fail "unclear: $err"
# A raw TCP port has no modem lines: a DTR/RTS reset is refused before anything starts.
# shellcheck disable=SC2086
err=$("$bin/ota-conformance" --device "$work/esp32-lab.json" $ports \
    --serial-port "socket://127.0.0.1:$closed" --only VER-1 2>&1)
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 1 ] || fail "socket:// with a DTR/RTS reset must not run: exit $rc: $err"
echo "$err" | grep -q 'raw TCP port without modem lines' || fail "unclear: $err"

rc=3
for try in 1 2 3 4 5; do
    mqtt=$(free_port)
    http=$((mqtt + 1))
    port=$(free_port)
    : >"$work/modem.log"
    start_board
    start_ser2net
    # ser2net goes away for a second once the run is well under way, and comes back.
    (sleep 40; kill "$s2n"; sleep 1; start_ser2net; wait) 2>/dev/null &
    restarter=$!
    pids+=("$restarter")
    timeout 500 "$bin/ota-conformance" --device "$work/esp32-lab.json" \
        --serial-port "rfc2217://127.0.0.1:$port" --mqtt-port "$mqtt" --http-port "$http" \
        ${OTA_SER2NET_ONLY:+--only "$OTA_SER2NET_ONLY"} \
        --junit "$work/junit.xml" --trace "$work/trace.jsonl" >"$work/out.txt" 2>&1
    rc=$?
    pkill -P "$restarter" 2>/dev/null
    kill "$restarter" 2>/dev/null
    wait "$restarter" 2>/dev/null
    [ -f "$work/ser2net.pid" ] && s2n=$(cat "$work/ser2net.pid")
    stop_ser2net
    stop_board
    grep -qE 'is taken|taken, or below|would not start' "$work/out.txt" || break
    echo "ports $mqtt/$http taken (try $try), choosing others"
done
cat "$work/out.txt"
[ "$rc" -eq 0 ] || fail "the board behind ser2net must pass the catalogue (exit $rc)"
na=$(grep '^N/A ' "$work/out.txt" | awk '{print $3}' | sort | tr '\n' ' ')
[ -n "${OTA_SER2NET_ONLY:-}" ] || [ "$na" = "cut_at_every_block_request cut_at_every_flash_write cut_at_every_transfer_step diff_for_another_base_refused diff_upgrade_completes foreign_broker_certificate_refused foreign_certificate_refused foreign_image_refused header_broken_digest_right version_comes_from_the_image " ] ||
    fail "unexpected N/A tests: $na"
# The esp32 sequence (dtr=0 rts=1, then rts=0) reached the pty side, and resets were made by it.
grep -A1 -x 'dtr=0 rts=1' "$work/modem.log" | grep -qx 'dtr=0 rts=0' ||
    fail "the DTR/RTS sequence did not reach the pty: $(tr '\n' ' ' <"$work/modem.log")"
grep -q 'reset: dtr-rts' "$work/trace.jsonl" || fail "no DTR/RTS reset in the trace"
grep -q '"kind":"log"' "$work/trace.jsonl" || fail "the board's log lines are not in the trace"
if [ -z "${OTA_SER2NET_ONLY:-}" ]; then
    grep -q 'port-lost: rfc2217://' "$work/trace.jsonl" || fail "the ser2net restart was not seen"
    grep -q 'port-back' "$work/trace.jsonl" || fail "the port did not come back after ser2net's restart"
fi
echo "ser2net: catalogue passed through rfc2217://, DTR/RTS resets and a ser2net restart survived"
