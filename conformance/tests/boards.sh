#!/usr/bin/env bash
# Several boards at once: two ota-pty-board boards (each the reference
# device on its own pty, broker and file server), named in a lab file. The
# tests are shared out: each runs once, on one board, and the report names
# it. Then one board is killed mid-run: it is reported gone, the test it had
# and its share go to the other board, and the run passes. Subsets of the
# catalogue (--only): the whole one through two boards is bench/boards.sh.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work boards
boards=()

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_pair() { # two free ports in a row
    local p
    while :; do
        p=$((20000 + (RANDOM % 6000) * 2)) # below the ephemeral ports (32768-)
        listening "$p" || listening $((p + 1)) || { echo "$p"; return; }
    done
}

start_pty_board() { # name mqtt-port device-name
    mkdir -p "$work/state-$1"
    "$bin/ota-pty-board" --link "$work/tty-$1" -- \
        "$bin/ota-ref-device" --host 127.0.0.1 --port "$2" \
        --product-key a1RefProd01 --device-name "$3" \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state-$1" 2>>"$work/board-$1.log" &
    boards+=($!)
    pids+=($!)
    for _ in $(seq 1 100); do [ -e "$work/tty-$1" ] && break; sleep 0.05; done
}

# A board's port may be gone 2 s before the board counts as gone (ref-serial.json says 10).
sed 's/"reopenWindow": 10/"reopenWindow": 2/' "$src/fixtures/devices/ref-serial.json" >"$work/board.json"
grep -q '"reopenWindow": 2' "$work/board.json" || fail "could not make the board profile"
a=$(free_pair)
b=$(free_pair)
cat >"$work/lab.json" <<EOF2
{ "boards": [
  { "name": "bench-a", "profile": "board.json", "port": "$work/tty-a", "mqttPort": $a, "httpPort": $((a + 1)) },
  { "name": "bench-b", "profile": "board.json", "port": "$work/tty-b", "mqttPort": $b, "httpPort": $((b + 1)),
    "deviceName": "ref-device-02" } ] }
EOF2
start_pty_board a "$a" ref-device-01
start_pty_board b "$b" ref-device-02

# Each test once, on one of the boards, and both boards used.
timeout 120 "$bin/ota-conformance" --lab "$work/lab.json" --only 'VER-*' \
    --junit "$work/both.xml" --trace "$work/both.jsonl" >"$work/both.log" 2>&1
rc=$?
cat "$work/both.log"
[ $rc -eq 0 ] || fail "two boards must pass VER-* (exit $rc)"
want=$("$bin/ota-conformance" --only 'VER-*' --list | grep -c .)
[ "$(grep -c '<testcase ' "$work/both.xml")" -eq "$want" ] || fail "expected the $want VER tests in the JUnit"
dups=$(grep -o '<testcase name="[^"]*"' "$work/both.xml" | sort | uniq -d)
[ -z "$dups" ] || fail "tests run twice: $dups"
for n in bench-a bench-b; do
    grep -q "name=\"board\" value=\"$n\"" "$work/both.xml" || fail "no test ran on $n"
done
[ "$(grep -c 'name="board"' "$work/both.xml")" -eq "$want" ] || fail "every test names its board"
grep -q ' on bench-[ab]$' "$work/both.log" || fail "the terminal does not name the boards"
# Each test's cost is its own board's device's: bench-b is ref-device-02, not the run's first.
python3 - "$work/both.jsonl" "$work/both.xml" <<'EOF2' || fail "a board's tests have no cost figures"
import json, sys, xml.etree.ElementTree as ET
spoke, cur = {}, None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "test" and r.get("event") in ("test-begin", "test-end"):
        cur = (r["dev"], r["info"].split()[1].split("/")[1]) if r["event"] == "test-begin" else None
    elif cur and r.get("kind") == "mqtt-in" and r.get("dev") == cur[0]:
        spoke[cur] = spoke.get(cur, 0) + 1
bad = []
for tc in ET.parse(sys.argv[2]).getroot().iter("testcase"):
    p = {q.get("name"): q.get("value") for q in tc.iter("property")}
    dev = "ref-device-02" if p.get("board") == "bench-b" else "ref-device-01"
    if spoke.get((dev, tc.get("name")), 0) and p.get("messages_sent", "0") == "0":
        bad.append(tc.get("name") + " on " + p.get("board", "?"))
if bad or not any(k[0] == "ref-device-02" for k in spoke):
    print("messages_sent is 0 for tests whose device spoke:", bad or "(bench-b spoke in no test)")
    sys.exit(1)
EOF2

# Board b is unplugged (its pty board killed) a few seconds in.
(sleep 5; kill "${boards[1]}") &
pids+=($!)
timeout 200 "$bin/ota-conformance" --lab "$work/lab.json" --only 'PUSH-*' \
    --junit "$work/lost.xml" --trace "$work/lost.jsonl" >"$work/lost.log" 2>&1
rc=$?
cat "$work/lost.log"
[ $rc -eq 0 ] || fail "the board left must pass the tests of the one gone (exit $rc)"
grep -q 'board 2 bench-b is gone (the port .*tty-b vanished.*): its remaining tests go to the other boards' "$work/lost.log" ||
    fail "the board gone is not reported"
want=$("$bin/ota-conformance" --only 'PUSH-*' --list | grep -c .)
[ "$(grep -c '<testcase ' "$work/lost.xml")" -eq "$want" ] || fail "expected the $want PUSH tests in the JUnit"
dups=$(grep -o '<testcase name="[^"]*"' "$work/lost.xml" | sort | uniq -d)
[ -z "$dups" ] || fail "tests run twice: $dups"
grep -q 'name="board" value="bench-a"' "$work/lost.xml" || fail "bench-a ran nothing"
echo "boards: shared out over two boards; a board gone left its tests to the other"
