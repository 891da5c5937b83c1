#!/usr/bin/env bash
# The user's own firmware: ota-image makes the reference device's app images
# and their variants; the reference device with --image-check passes the
# version, push, final, failure and image groups with images built per version
# (versions upward) and with two prebuilt files (versions alternate); a build
# that fails stops the run (exit 3) with its exit status and last lines, and
# so does a build whose image the device refuses with no fault (the probe);
# the command line's images replace the profile's;
# --firmware-cache keeps built images between runs; the same device without a
# firmware section is told, before the first test, why it refuses generated
# images; a device a test left unable to boot is flashed back by flashCommand.
# The image bug switches are self-check entries (selfcheck_bug_*).
set -u
bin=$1
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work firmware
profile=$(cd "$(dirname "$0")/../../fixtures/devices" && pwd)/ref-image-check.json
dut="exec '$bin/ota-ref-device' --image-check"

# ota-image: an image, its check, the broken and foreign variants, a diff.
"$bin/ota-image" wrap --version 2.0.0 "$work/a.bin" || fail "ota-image wrap failed"
"$bin/ota-image" wrap --version 3.0.0 --size 40000 "$work/b.bin" || fail "ota-image wrap --size failed"
[ "$(stat -c %s "$work/b.bin")" -eq 40000 ] || fail "ota-image --size 40000 made another size"
"$bin/ota-image" info "$work/a.bin" | grep -q '^version=2.0.0 product=ota-ref-device .* check=ok$' ||
    fail "ota-image info: $("$bin/ota-image" info "$work/a.bin" 2>&1)"
"$bin/ota-image" break "$work/a.bin" "$work/broken.bin" || fail "ota-image break failed"
"$bin/ota-image" info "$work/broken.bin" >/dev/null 2>&1 && fail "a broken header passes ota-image info"
"$bin/ota-image" foreign --version 2.0.0 "$work/f.bin" && "$bin/ota-image" info "$work/f.bin" |
    grep -q 'product=another-product' || fail "ota-image foreign does not name another product"
"$bin/ota-image" diff "$work/a.bin" "$work/b.bin" "$work/d.bin" &&
    "$bin/ota-image" info "$work/d.bin" | grep -q '^diff against' || fail "ota-image diff failed"

# Every group that pushes, once per way of giving the images; the first line of each run
# must be clean under --strict.
run_groups() {
    local name=$1 g out
    shift
    for g in version push final failure image; do
        out=$(timeout 300 "$bin/ota-conformance" --strict --quiet --jobs 3 --only "$g" "$@" \
            --dut-cmd "$dut" --trace "$work/$name-$g.jsonl" 2>&1) ||
            fail "$name: group $g must pass: $out"
        echo "$name $g: $(echo "$out" | grep -E '^PASSED')"
    done
}
run_groups build-upward --device "$profile"
# Two files, alternate (the image group's IMG-2 and DIFF-2 need a third version: inconclusive
# or N/A, never failed; without foreign and diff commands those are N/A).
run_groups files-alternate --firmware "$work/a.bin@2.0.0" --firmware "$work/b.bin@3.0.0"

# A build that fails: exit 3 before any test, with its exit status and last lines.
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --dut-cmd "$dut" \
    --firmware-build 'echo compiling {version}; echo "error: no toolchain" >&2; exit 7' 2>&1)
rc=$?
[ "$rc" -eq 3 ] || fail "a failing build must stop the run with exit 3, got $rc: $out"
echo "$out" | grep -q 'failed (exit status 7); its last lines: compiling 9.0.1 | error: no toolchain' ||
    fail "the failing build's status and last lines are not said: $out"
echo "$out" | grep -q '^building 9.0.1 \.\.\. FAILED in [0-9.]* s$' || fail "no building line: $out"

build="'$bin/ota-image' wrap --version {version} --size {size} {out}"
# A build that makes images the device refuses: the probe push of the first target (no fault)
# stops the run with exit 3 and the device's own report, before any test blames the device.
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --dut-cmd "$dut" \
    --device "$profile" --firmware-build 'echo not an image >{out}' 2>&1)
rc=$?
[ "$rc" -eq 3 ] || fail "a build the device refuses must stop the run with exit 3, got $rc: $out"
echo "$out" | grep -q 'the device refused your own image 9.0.1 with no fault injected: step "-3" "not a firmware image.*check firmware.build' ||
    fail "the refused image is not said with the device's report: $out"
echo "$out" | grep -qE '^(PASS|FAIL) ' && fail "no test may run after the device refused the user's image: $out"

# The command line wins over the profile: --firmware replaces the profile's build (the profile's
# build makes images the device refuses; the files are good), and --firmware-build replaces
# the profile's files (the test's target is the build's 9.0.2, after the probe's 9.0.1); a profile
# whose firmware section gives no images is completed by the command line, and without it the
# error names the profile and the options.
python3 - "$profile" "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/junk.bin", "w").write("not an image\n")
d["firmware"]["build"] = "echo not an image >{out}"
json.dump(d, open(sys.argv[2] + "/badbuild.json", "w"))
del d["firmware"]["build"]
d["firmware"]["files"] = [{"version": v, "file": sys.argv[2] + "/junk.bin"} for v in ("5.0.0", "6.0.0")]
json.dump(d, open(sys.argv[2] + "/badfiles.json", "w"))
d["firmware"] = {"checks": True}
json.dump(d, open(sys.argv[2] + "/noimages.json", "w"))
PY
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --strict --dut-cmd "$dut" --device "$work/badbuild.json" \
    --firmware "$work/a.bin@2.0.0" --firmware "$work/b.bin@3.0.0" 2>&1) ||
    fail "--firmware must replace the profile's build: $out"
echo "$out" | grep -q '^building ' && fail "--firmware given, yet the profile's build ran: $out"
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --strict --dut-cmd "$dut" --device "$work/badfiles.json" \
    --firmware-build "$build" --trace "$work/badfiles.jsonl" 2>&1) ||
    fail "--firmware-build must replace the profile's files: $out"
grep -q 'job 2 created: version 9\.0\.2, 65536 bytes of [^ ]*/9\.0\.2-65536\.bin' "$work/badfiles.jsonl" ||
    fail "the build's targets are not pushed: $out"
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --strict --dut-cmd "$dut" --device "$work/noimages.json" \
    --firmware-build "$build" 2>&1) || fail "--firmware-build must complete a firmware section without images: $out"
out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --dut-cmd "$dut" --device "$work/noimages.json" 2>&1) &&
    fail "a firmware section without images and no option must not run: $out"
echo "$out" | grep -q "device profile $work/noimages.json: field 'firmware' needs 'build'.*--firmware-build CMD, or --firmware FILE@VERSION" ||
    fail "no images: the error must name the profile and the options: $out"

# --firmware-cache: the second run builds nothing.
for i in 1 2; do
    out=$(timeout 60 "$bin/ota-conformance" --only FINAL-1 --dut-cmd "$dut" --firmware-build "$build" \
        --firmware-cache "$work/cache" 2>&1) || fail "cached run $i failed: $out"
    n=$(echo "$out" | grep -c '^building ')
    [ "$i" -eq 1 ] && [ "$n" -lt 1 ] && fail "the first run built nothing: $out"
    [ "$i" -eq 2 ] && [ "$n" -ne 0 ] && fail "the second run built again despite the cache: $out"
done
ls "$work/cache/default/9.0.1-65536.bin" >/dev/null || fail "the cache does not hold 9.0.1"

# No firmware section: one sentence before the first test; VER-6's failure then quotes the
# device's failure step with its desc.
out=$(timeout 120 "$bin/ota-conformance" --only version_is_target_after_upgrade --dut-cmd "$dut" 2>&1)
first=$(echo "$out" | head -1)
echo "$first" | grep -q 'refuses the generated ones (it reported -3 "not a firmware image.*give its profile a firmware section' ||
    fail "the device without a firmware section is not told why: $out"
echo "$out" | grep -A3 '^FAIL  version  version_is_target_after_upgrade' | grep -q '"step":"-3","desc":"not a firmware image' ||
    fail "VER-6 does not quote the device's failure step: $out"
# A device that a test leaves unable to boot (with ignores-image-check it flashes the broken
# header, and its bootloader then refuses to start) is flashed back by the profile's
# flashCommand ({state_dir}: the process device's flash) before the next test, which then runs.
# The same with a board behind ota-pty-board: serial_reflash.sh.
python3 - "$profile" "$work/flash.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["flashCommand"] = "ota-ref-device --state-dir {state_dir} --program {file} {version}"
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(timeout 300 "$bin/ota-conformance" --device "$work/flash.json" --only image --time-scale 0.5 \
    --dut-cmd "exec '$bin/ota-ref-device' --image-check --bug ignores-image-check" 2>&1)
echo "$out" | grep -q '^FAIL  image    header_broken_digest_right' ||
    fail "the device that flashes a broken header must fail IMG-1: $out"
echo "$out" | grep -q '^the device does not come up: flashing 1.0.0 \.\.\.$' ||
    fail "the bricked device is not flashed back: $out"
echo "$out" | grep -q '^PASS  image    version_comes_from_the_image' ||
    fail "after the flashCommand the device must run the next tests: $out"
# Upward files used up: flashCommand puts the device back on the first file and the run goes on.
"$bin/ota-image" wrap --version 4.0.0 "$work/c.bin" || fail "ota-image wrap failed"
python3 - "$work/flash.json" "$work/up.json" "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["firmware"] = {"files": [{"version": v, "file": sys.argv[3] + "/" + f}
                           for v, f in (("2.0.0", "a.bin"), ("3.0.0", "b.bin"), ("4.0.0", "c.bin"))],
                 "versions": "upward", "checks": True}
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(timeout 120 "$bin/ota-conformance" --device "$work/up.json" --only final --strict --dut-cmd "$dut" 2>&1) ||
    fail "upward files with a flashCommand must pass the final group: $out"
echo "$out" | grep -q '^no firmware file is left above the running version: flashing 2.0.0 \.\.\.$' ||
    fail "used-up upward files are not flashed back: $out"
echo "firmware: all checks passed"
