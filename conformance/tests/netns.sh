#!/usr/bin/env bash
# Fixed-port firmware side by side: the reference device as a network
# device with compiled-in settings (127.0.0.1:1883, downloads from port 80
# with port-less URLs, as Alibaba's SDK demos are built), four instances at
# once with --jobs 4 --netns, each in a network namespace of its own with its
# own loopback. The profile's command starts each one inside its instance's
# namespace, in a bootloader loop. The whole catalogue must pass (or be N/A
# with its reason, as in network.sh). Needs root or unprivileged user
# namespaces; ./ci/test runs as root.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work netns

cat >"$work/fixed.json" <<EOF2
{
  "about": "The reference device built like an SDK demo: broker 127.0.0.1:1883 and its identity compiled in, downloads from port 80 with URLs that carry no port.",
  "productKey": "a1RefProd01", "deviceName": "ref-device-01",
  "deviceSecret": "0123456789abcdef0123456789abcdef", "module": "default", "firmwareVersion": "1.0.0",
  "adapter": "network",
  "command": "exec '$bin/ota-ref-device' --no-channel --host 127.0.0.1 --port 1883 --product-key a1RefProd01 --device-name ref-device-01 --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 --state-dir \"\$OTA_STATE_DIR\"",
  "endpoints": { "listen": "127.0.0.1", "mqttPort": 1883, "httpPort": 80, "urlHost": "127.0.0.1", "urlPort": false },
  "reset": { "method": "none" },
  "timeBounds": { "boot": 30 }
}
EOF2

# One instance in its own namespace. Where neither root nor unprivileged user namespaces are
# to be had, the run stops at once with one sentence: checked, then this test is skipped (77).
err=$(timeout 120 "$bin/ota-conformance" --device "$work/fixed.json" --netns --only VER-1 2>&1)
rc=$?
if echo "$err" | grep -q -- '--netns needs root, or unprivileged user namespaces'; then
    [ $rc -eq 3 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] || fail "not exit 3 with one sentence: $err"
    echo "SKIP: no network namespaces here: $err"
    exit 77
fi
[ $rc -eq 0 ] || fail "one fixed-port instance in a namespace must pass VER-1 (exit $rc): $err"

# Without --netns the four instances would all want port 1883: refused before anything starts.
err=$("$bin/ota-conformance" --device "$work/fixed.json" --jobs 4 --only VER-1 2>&1)
[ $? -eq 3 ] || fail "--jobs with fixed ports and no --netns must exit 3: $err"
echo "$err" | grep -q 'or --netns' || fail "unclear: $err"

timeout 500 "$bin/ota-conformance" --device "$work/fixed.json" --jobs 4 --netns \
    ${OTA_NETNS_ONLY:+--only "$OTA_NETNS_ONLY"} \
    --junit "$work/junit.xml" --trace "$work/trace.jsonl" >"$work/out.txt" 2>&1
rc=$?
cat "$work/out.txt"
[ $rc -eq 0 ] || fail "four fixed-port devices in their own namespaces must pass the catalogue (exit $rc)"
na=$(grep '^N/A ' "$work/out.txt" | awk '{print $3}' | sort | tr '\n' ' ')
[ -n "${OTA_NETNS_ONLY:-}" ] || [ "$na" = "cut_at_every_block_request cut_at_every_flash_write cut_at_every_transfer_step diff_for_another_base_refused diff_upgrade_completes flash_failure_reports_minus_4 foreign_broker_certificate_refused foreign_certificate_refused foreign_image_refused header_broken_digest_right version_comes_from_the_image " ] ||
    fail "unexpected N/A tests (network.sh's are expected): $na"
grep -q 'http://127.0.0.1/' "$work/trace.jsonl" || fail "no port-less download URL (port 80) in the trace"
echo "netns: the catalogue passed with four fixed-port devices side by side"
