#!/usr/bin/env bash
# A board behind ota-pty-board that a test leaves unable to boot is put back
# on its known image by the profile's flashCommand, and the next test runs.
# The reference device checks its images (--image-check) and, with the bug
# switch ignores-image-check, installs the image whose header is broken;
# its bootloader then refuses to start it, so the board boot-loops and its
# USB port re-enumerates (absent 4 s each time, as a slow native-USB board's is:
# a reset over the channel then mostly finds no port). The suite must see
# that the board does not come up, run flashCommand (ota-ref-device
# --program into the board's flash), see the board report 1.0.0 again, and
# pass the next test. Only the image rules' tests run (IMG-*: one fails by
# the bug, one is N/A without a foreign command, one passes), and the profile
# scales every deadline by 0.25 (timeScale, documented): about 30 s.
# OTA_REFLASH_CMD replaces the flashCommand ("-": none), to see this fail.
set -u
bin=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work serial-reflash
flash=${OTA_REFLASH_CMD-"ota-ref-device --state-dir $work/state --program {file} {version}"}

# The profile: ref-serial.json with the ports of this try, images built by ota-image, and flashCommand.
make_profile() {
    python3 - "$src/fixtures/devices/ref-serial.json" "$work/board.json" "$work" "$mqtt" "$flash" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
work, mqtt, flash = sys.argv[3], int(sys.argv[4]), sys.argv[5]
d["serial"]["port"] = work + "/ttyREF"
d["serial"]["readyTimeout"] = 3
d["endpoints"]["mqttPort"], d["endpoints"]["httpPort"] = mqtt, mqtt + 1
d["timeScale"] = 0.25
d["timeBounds"] = {"boot": 32}  # 8 s: the board comes back within one boot loop (4.2 s) of the flash
d["firmware"] = {"build": "ota-image wrap --version {version} --size {size} {out}", "checks": True}
if flash != "-":
    d["flashCommand"] = flash
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
}

start_board() {
    rm -rf "$work/state" "$work/ttyREF"
    mkdir -p "$work/state"
    "$bin/ota-pty-board" --link "$work/ttyREF" --reenumerate --gone 4 -- \
        "$bin/ota-ref-device" --image-check --bug ignores-image-check \
        --host 127.0.0.1 --port "$mqtt" --product-key a1RefProd01 --device-name ref-device-01 \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state" 2>>"$work/board.log" &
    board=$!
    for _ in $(seq 1 100); do [ -e "$work/ttyREF" ] && break; sleep 0.05; done
}

run_board() { # sets rc; out.txt, junit.xml, trace.jsonl
    rc=3
    for try in 1 2 3 4 5; do
        mqtt=$((20000 + (RANDOM % 12000))) # below the ephemeral ports (32768-), which clients take
        make_profile
        start_board
        timeout 200 "$bin/ota-conformance" --device "$work/board.json" --only 'IMG-*' \
            --junit "$work/junit.xml" --trace "$work/trace.jsonl" >"$work/out.txt" 2>&1
        rc=$?
        stop_board
        grep -qE 'is taken|taken, or below|would not start' "$work/out.txt" || break
        echo "ports $mqtt/$((mqtt + 1)) taken (try $try), choosing others"
    done
    cat "$work/out.txt"
}

# Without a flashCommand the tests after the brick are N/A with the reason, never failed.
if [ -z "${OTA_REFLASH_CMD+set}" ]; then
    flash=-
    run_board
    [ "$rc" -eq 1 ] || fail "without flashCommand: exit 1 (the bug's failure only), got $rc"
    grep -q '^FAILED: 3 tests, 0 passed, 1 failed, 2 N/A, 0 warnings' "$work/out.txt" ||
        fail "without flashCommand the tests after the brick must be N/A"
    tr '\n' ' ' <"$work/out.txt" | tr -s ' ' | grep -q 'N/A image version_comes_from_the_image .*the device does not come up (a test before this one may have left it unable to boot) and the profile has no flashCommand' ||
        fail "the N/A does not say the device does not come up and has no flashCommand"
    flash="ota-ref-device --state-dir $work/state --program {file} {version}"
fi
run_board

# The verdicts: the bug fails IMG-1, the foreign test is N/A, the test after the reflash passes.
[ "$rc" -eq 1 ] || fail "the run must end with exit 1 (one test failed by the bug switch), got $rc"
grep -q '^FAILED: 3 tests, 1 passed, 1 failed, 1 N/A, 0 warnings' "$work/out.txt" ||
    fail "expected 3 tests: 1 passed, 1 failed, 1 N/A"
order=$(sed -nE 's/^FAIL  image    header_broken_digest_right .*/fail-header/p
    s/^the device does not come up: flashing 1\.0\.0 \.\.\.$/flash/p
    s/^N\/A   image    foreign_image_refused .*/na-foreign/p
    s/^PASS  image    version_comes_from_the_image .*/pass-version/p' "$work/out.txt" | tr '\n' ' ')
[ "$order" = "fail-header flash na-foreign pass-version " ] ||
    fail "expected header_broken_digest_right failed, the board flashed back once, then the next tests: $order"
[ "$(xmllint --xpath "count(//failure[@type='IMG-1'])" "$work/junit.xml")" = 1 ] ||
    fail "junit.xml must hold one failure of IMG-1"

# The trace: the board could not start, flashCommand wrote 1.0.0 into its flash, and after that
# it started on 1.0.0 (!READY) and reported 1.0.0 to the cloud; ota-pty-board re-enumerated it.
python3 - "$work/trace.jsonl" "$work/state" <<'PY' || fail "the trace does not show the recovery"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def first(pred, after=-1):
    return next((i for i, r in enumerate(recs) if i > after and pred(r)), None)
brick = first(lambda r: r["kind"] == "log" and "image in flash fails its check" in r.get("info", ""))
flash = first(lambda r: r.get("info", "").startswith("flashCommand: programmed ")
              and r["info"].endswith(" as version 1.0.0 into " + sys.argv[2]))
ready = flash is not None and first(lambda r: r.get("event") == "ready"
                                    and "!READY fw=1.0.0 " in r.get("info", ""), flash)
inform = flash is not None and first(lambda r: r["kind"] == "mqtt-in" and "/ota/device/inform/" in r.get("topic", "")
                                     and json.loads(r["payload"])["params"]["version"] == "1.0.0", flash)
lost = first(lambda r: r.get("info", "").startswith("event: port-lost"))
for what, at in (("the bootloader refusing the broken image", brick), ("flashCommand programming 1.0.0", flash),
                 ("!READY fw=1.0.0 after the flash", ready), ("inform 1.0.0 after the flash", inform),
                 ("a port-lost (re-enumeration)", lost)):
    if at is None:
        sys.exit("no " + what + " in the trace")
if not brick < flash:
    sys.exit("flashCommand ran before the board was bricked")
PY
echo "serial board flashed back: all checks passed"
