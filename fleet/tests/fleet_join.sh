#!/usr/bin/env bash
# A device under test in a busy cloud: ota-conformance joins a running
# ota-mock-cloud (--cloud) while ota-fleet upgrades 100 simulated devices
# through the same daemon and broker, slowly (every download throttled).
# The run passes, the fleet's devices all upgrade, and the daemon served
# both: the claimed device's jobs are the run's, the fleet's are its own.
set -u
bin=$1
fx=$(cd "$(dirname "$0")/../../fixtures" && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work fleet-join

"$bin/ota-mock-cloud" --quiet --devices "$fx/devices" --scenarios "$fx/scenarios" \
    >"$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do grep -q '^  API    http:' "$work/daemon.log" && break; sleep 0.1; done
api=$(sed -n 's/^  API    http:\/\/\([^ ]*\).*/\1/p' "$work/daemon.log")
[ -n "$api" ] || fail "ota-mock-cloud did not start"

# The fleet: 100 devices by HTTP at 12 KiB/s each (http-throttle), all at once: about 20 s.
"$bin/ota-fleet" --cloud "$api" --devices 100 --http-parallel 100 --transport http --size 262144 \
    --faults http-throttle=100% --quiet >"$work/fleet.log" 2>&1 &
fleet=$!
pids+=($fleet)
for _ in $(seq 1 300); do
    curl -sf "http://$api/jobs/100" | grep -q '"state"' && break
    sleep 0.1
done
curl -sf "http://$api/jobs/100" >/dev/null || fail "the fleet's jobs were not created"

# Meanwhile the suite's version tests against the reference device, joined to the daemon.
timeout 300 "$bin/ota-conformance" --cloud "$api" --only 'VER-*' >"$work/run.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "ota-conformance --cloud during the fleet exited $rc"
grep -q '^PASSED: ' "$work/run.log" || fail "the run did not pass"
kill -0 "$fleet" 2>/dev/null || echo "note: the fleet finished before the run did"

wait "$fleet"
rc=$?
[ "$rc" -eq 0 ] || fail "ota-fleet exited $rc"
grep -q 'done     100' "$work/fleet.log" || fail "not every fleet device upgraded"
echo PASS
