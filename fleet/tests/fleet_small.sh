#!/usr/bin/env bash
# ota-fleet with 50 devices, by MQTT blocks and by HTTP, each with a fault
# mix: the devices without a fault all upgrade (exit 0), the faults a correct
# device survives cost nothing, and the ones it cannot survive are reported,
# grouped by plan and reason. A fleet whose devices cannot reach the file
# server exits 1 with that reason. Not timed.
set -u
fleet=$1
work=$(mktemp -d /tmp/ota-fleet-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*"
    [ -f "$work/out" ] && cat "$work/out"
    exit 1
}
# expect FILE TEXT: the summary holds the line (spaces as printed).
expect() {
    grep -qF -- "$2" "$1" || fail "the summary lacks: $2"
}

# MQTT blocks, 4 KiB a request (16 blocks: the plans act on the third).
"$fleet" --devices 50 --block-size 4096 --quiet --json "$work/blocks.json" \
    --faults block-bad-crc-once=10%,block-error-once=10%,block-wrong-digest=10% >"$work/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "blocks: exit $rc, want 0 (every device without a fault upgrades)"
expect "$work/out" "done     45"
expect "$work/out" "failed   5"
expect "$work/out" "5  block-wrong-digest: digest mismatch (cloud: FAILED)"
expect "$work/out" "plan     block-bad-crc-once: 5 devices, 5 upgraded, 0 failed"
expect "$work/out" "plan     block-error-once: 5 devices, 5 upgraded, 0 failed"
expect "$work/out" "plan     block-wrong-digest: 5 devices, 0 upgraded, 5 failed"
grep -Eq '"done":[[:space:]]*45' "$work/blocks.json" || fail "blocks: --json lacks done 45"
grep -Eq 'asked again' "$work/out" && ! grep -q ' 0 asked again' "$work/out" ||
    fail "blocks: the bad CRC and the error code must have been asked for again"
grep -Eq 'cloud +peak memory [0-9.]+ MiB' "$work/out" || fail "blocks: no peak memory of the cloud"

# HTTP: a short response is resumed by Range; a 404 and a corrupted byte fail.
"$fleet" --devices 50 --transport http --quiet \
    --faults http-truncate-once=10%,http-status-404=10%,http-corrupt=10% >"$work/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "http: exit $rc, want 0"
expect "$work/out" "done     40"
expect "$work/out" "failed   10"
expect "$work/out" "5  http-status-404: HTTP status 404 (cloud: FAILED)"
expect "$work/out" "5  http-corrupt: digest mismatch (cloud: FAILED)"
expect "$work/out" "plan     http-truncate-once: 5 devices, 5 upgraded, 0 failed"

# A file server the devices cannot reach (the URLs name another loopback address): every
# device fails, for that reason, and the exit status says so.
"$fleet" --devices 10 --transport http --quiet --mock-cloud "$(dirname "$fleet")/ota-mock-cloud" \
    --cloud-args "--url-host 127.0.0.2" >"$work/out" 2>&1
rc=$?
[ $rc = 1 ] || fail "unreachable file server: exit $rc, want 1"
expect "$work/out" "done     0"
expect "$work/out" "10  no fault: download: Couldn't connect to server, 3 tries (cloud: FAILED)"

# Bad usage is exit 2; a plan the cloud does not have is exit 3 with its name.
"$fleet" --devices 0 >"$work/out" 2>&1
[ $? = 2 ] || fail "--devices 0 must be exit 2"
"$fleet" --devices 2 --faults no-such-plan=50% >"$work/out" 2>&1
[ $? = 3 ] || fail "an unknown plan must be exit 3"
expect "$work/out" "no fault plan 'no-such-plan'"
echo "PASS"
