#!/usr/bin/env bash
# Block sizes: a correct device that asks for blocks of 256 B, 5 KiB, 64 KiB
# or 128 KiB passes every block test, none inconclusive, and every block
# fault plan reaches it (its fault record is in the trace of the test that
# pushed it). Plans that change the push instead (push-*) leave no record.
# usage: blocksizes.sh BIN_DIR
set -u
bin=$1
scenarios=$(cd "$(dirname "$0")/../../fixtures/scenarios" && pwd)
work=$(mktemp -d /tmp/ota-blocksizes-XXXXXX)
status=0
# Kept when something fails, so the traces can be read.
trap 'if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "traces kept in $work"; fi' EXIT

# The fault kinds of the block server's plans: MQTT plans of block-* and session-* kinds.
kinds=$(for f in "$scenarios"/*.json; do
    grep -q '"transport": *"mqtt"' "$f" &&
        sed -n 's/.*"kind": *"\(\(block\|session\)-[a-z0-9-]*\)".*/\1/p' "$f"
done | sort -u)

# Per test of the trace (one JSON record a line, as the runner writes it): the fault kinds its
# jobs carried, and those whose record came. Prints "MISSED test kind" for a fault that never
# reached the device, and "PLAN kind" for each kind some test carried.
reached() {
    awk 'function after(key,   i) {
             i = index($0, key)
             if (!i) return ""
             s = substr($0, i + length(key))
             match(s, /^[a-z0-9_-]+/)
             return substr(s, 1, RLENGTH)
         }
         /"kind":"test"/ { n = after("\\\"name\\\":\\\""); if (n != "") cur = n }
         /"kind":"cloud"/ && /"info":"job [0-9]+ created:/ {
             k = after(", fault ")
             if (k ~ /^(block|session)-/) { want[cur " " k] = 1; plan[k] = 1 }
         }
         /"kind":"fault"/ { got[cur " " after("\"info\":\"")] = 1 }
         END { for (w in want) if (!(w in got)) print "MISSED " w
               for (p in plan) print "PLAN " p }' "$1"
}

for size in 256 5120 65536 131072; do
    out="$work/$size.txt" trace="$work/$size.jsonl"
    start=$SECONDS
    "$bin/ota-conformance" --only blocks --jobs 4 --quiet --trace "$trace" \
        --dut-cmd "exec '$bin/ota-ref-device' --block-size $size" >"$out" 2>&1
    rc=$?
    took=$((SECONDS - start))
    if [ "$rc" -ne 0 ]; then
        echo "block size $size: exit $rc (a correct device must pass every block test)"
        sed 's/^/    /' "$out" | head -20
        status=1
        continue
    fi
    if grep -qi 'inconclusive' "$out"; then
        echo "block size $size: inconclusive tests (every fault must reach the device)"
        sed 's/^/    /' "$out" | head -20
        status=1
        continue
    fi
    facts=$(reached "$trace")
    missed=$(echo "$facts" | grep '^MISSED' || true)
    if [ -n "$missed" ]; then
        echo "block size $size: faults that never reached the device:"
        echo "$missed" | sed 's/^MISSED /    test, fault: /'
        status=1
        continue
    fi
    for k in $kinds; do
        if ! echo "$facts" | grep -qx "PLAN $k"; then
            echo "block size $size: no test pushed a plan of fault $k"
            status=1
        fi
    done
    echo "block size $size: $(head -1 "$out") in ${took}s, every fault reached the device"
done
exit $status
