#!/usr/bin/env bash
# An embedded-Linux gateway with real SWUpdate: the reference device with
# --swupdate hands each download to Debian's swupdate, the images being signed
# .swu bundles built per version by fixtures/swupdate/make-swu.sh (keys made
# here, in the work folder). It passes the final, failure and image groups
# (DIFF N/A: it takes no diffs); a tampered bundle (its digest right, a payload
# byte changed after signing) is refused by SWUpdate itself with -3; and a
# device that ignores SWUpdate's verdict fails IMG-1; a build whose bundles
# SWUpdate refuses stops the run before the first test; without a firmware section
# the run says at once why the gateway refuses the generated images.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/lib.sh"
ota_test_work swupdate
for tool in swupdate cpio openssl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (ci/install-deps installs it)"
done
cd "$src" || fail "no $src" # the profile names its build script relative to the source tree
export OTA_SWU_KEYS=$work/keys
cert=$(sh fixtures/swupdate/make-swu.sh cert) || fail "make-swu.sh could not make the keys"
profile=fixtures/devices/swupdate-gateway.json
dut="exec '$bin/ota-ref-device' --swupdate '$cert'"

# Every group that judges what the device installs must pass, clean under --strict.
for g in final failure image; do
    out=$(timeout 300 "$bin/ota-conformance" --device "$profile" --strict --quiet --jobs 3 \
        --only "$g" --dut-cmd "$dut" --trace "$work/$g.jsonl" 2>&1) || fail "group $g must pass: $out"
    echo "swupdate $g: $(echo "$out" | grep -E '^PASSED')"
done
grep -q 'swupdate: \[INFO \] : SWUPDATE successful' "$work/final.jsonl" ||
    fail "SWUpdate never installed a bundle in the final group"
grep -q 'swupdate: \[ERROR\] : SWUPDATE failed \[0\] ERROR : Authentication of all signatures failed' \
    "$work/image.jsonl" || fail "SWUpdate did not refuse the bundle signed with another key"
grep -q 'slot[AB] holds version [0-9.]* (pushed as [0-9.]*): booting' "$work/image.jsonl" ||
    fail "IMG-2: the version does not come from the slot SWUpdate wrote"

# A tampered bundle as the image the device must refuse: SWUpdate's own hash check says no.
python3 - "$profile" "$work/tamper.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["firmware"]["foreign"] = d["firmware"]["foreign"].replace(" foreign ", " tamper ")
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(timeout 120 "$bin/ota-conformance" --device "$work/tamper.json" --strict \
    --only foreign_image_refused --dut-cmd "$dut" --trace "$work/tamper.jsonl" 2>&1) ||
    fail "a tampered bundle must be refused (IMG-1): $out"
grep -q 'swupdate: \[ERROR\] : SWUPDATE failed \[0\] ERROR : HASH mismatch : [0-9a-f]\{64\} <--> [0-9a-f]\{64\}' \
    "$work/tamper.jsonl" || fail "SWUpdate's own hash mismatch is not in the device log"
grep -q 'progress -3: SWUpdate refused the bundle (exit status 1): HASH mismatch' "$work/tamper.jsonl" ||
    fail "the tampered bundle does not end in -3 with SWUpdate's reason"
# PROG-2 holds for the reference device too: every desc it sent is at most 128 characters.
long=$(python3 - "$work/tamper.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "mqtt-in" and "/progress/" in r.get("topic", ""):
        desc = json.loads(r["payload"]).get("params", {}).get("desc", "")
        if len(desc) > 128:
            print(f"{len(desc)} characters: {desc}")
PY
) || fail "cannot read the tampered bundle's trace"
[ -z "$long" ] || fail "PROG-2: the reference device sent a desc over 128 characters: $long"
echo "tampered: $(grep -o 'SWUPDATE failed \[0\] ERROR : HASH mismatch[^"]*' "$work/tamper.jsonl" | head -1)"

# A build whose bundles SWUpdate refuses (a payload byte changed after signing): the probe push
# of the first target, with no fault, stops the run before any test, quoting SWUpdate's refusal.
out=$(timeout 120 "$bin/ota-conformance" --device "$profile" --only FINAL-1 --dut-cmd "$dut" \
    --firmware-build 'sh fixtures/swupdate/make-swu.sh tamper {version} {out}' 2>&1)
rc=$?
[ "$rc" -eq 3 ] || fail "a build SWUpdate refuses must stop the run with exit 3, got $rc: $out"
echo "$out" | grep -q 'the device refused your own image [0-9.]* with no fault injected: step "-3" "SWUpdate refused the bundle (exit status 1): HASH mismatch.*check firmware.build' ||
    fail "the refused build is not said with SWUpdate's reason: $out"

# The check can fail: a device that unpacks a refused bundle by hand boots it.
out=$(timeout 120 "$bin/ota-conformance" --device "$profile" --only IMG-1 \
    --dut-cmd "$dut --bug ignores-image-check" 2>&1) && fail "ignores-image-check must fail: $out"
for t in header_broken_digest_right foreign_image_refused; do
    echo "$out" | grep -q "^FAIL  image    $t  *\[IMG-1\]" || fail "ignores-image-check: $t must fail IMG-1: $out"
done
# Without a firmware section: one sentence before the first test, with SWUpdate's refusal.
out=$(timeout 120 "$bin/ota-conformance" --only FINAL-1 --dut-cmd "$dut" 2>&1)
echo "$out" | head -1 | grep -q 'refuses the generated ones (it reported -3 "SWUpdate refused the bundle (exit status 1): CPIO Format not recognized' ||
    fail "the gateway without a firmware section is not told why: $out"
echo "swupdate: all checks passed"
