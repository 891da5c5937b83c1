#!/usr/bin/env bash
# A scenario that holds a sequence of faults, and one that carries a cost
# limit, from a temporary fixtures folder against the reference device:
# a reset, then a 503, then a plain download must still end in the target
# version, and the mock cloud's trace shows both faults in that order; a
# limit of 1.5 passes a plain device and fails the cost switch
# download-twice, naming the figure; bad sequences stop the run (exit 3).
# usage: sequence.sh BIN_DIR
set -u
bin=$1
src=$(cd "$(dirname "$0")/../../fixtures" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/ota-sequence-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/scenarios"
ln -s "$src/devices" "$work/devices"
cp "$src"/scenarios/*.json "$work/scenarios/"

cat >"$work/scenarios/http-reset-then-503.json" <<'EOF'
{
  "name": "http-reset-then-503",
  "about": "the first download reset after 20000 bytes, the second answered 503, the third served",
  "transport": "http",
  "faults": [
    { "kind": "http-reset", "at": 20000 },
    { "kind": "http-status", "value": 503 }
  ],
  "expect": {
    "test": "survives_reset_then_503",
    "group": "sequence",
    "outcome": "success",
    "rules": { "outcome": "DL-2" }
  }
}
EOF
cat >"$work/scenarios/http-plain-costed.json" <<'EOF'
{
  "name": "http-plain-costed",
  "about": "no fault; the image may be downloaded at most 1.5 times",
  "transport": "http",
  "fault": { "kind": "none" },
  "expect": {
    "test": "downloads_once",
    "group": "sequence",
    "outcome": "success",
    "maxAmplification": 1.5,
    "rules": { "outcome": "FINAL-1" }
  }
}
EOF
run() { "$bin/ota-conformance" --fixtures "$work" --time-scale 0.5 --trace "$work/$1.jsonl" "${@:2}" 2>&1; }

out=$(run seq --only survives_reset_then_503) ||
    fail "the two-fault scenario failed against the reference device: $out"
echo "$out" | grep -qE '^PASS +sequence +survives_reset_then_503' || fail "not run: $out"
# The faults acted in order, one per download request, and the third request was served.
faults=$(grep -o '"fault":"[a-z-]*"' "$work/seq.jsonl" | cut -d'"' -f4 | tr '\n' ' ')
[ "$faults" = "http-reset http-status " ] || fail "the faults in the trace: '$faults'"

out=$(run once --only downloads_once) || fail "a plain device exceeds maxAmplification 1.5: $out"
out=$(run twice --only downloads_once --quiet --dut-cmd "exec '$bin/ota-ref-device' --bug download-twice")
[ $? -eq 1 ] || fail "download-twice must fail a limit of 1.5 (exit 1): $out"
echo "$out" | grep -q 'amplification 2.00 .* maxAmplification 1.50' ||
    fail "the failure does not name the figure: $out"

# Bad sequences and limits stop the run before anything starts, naming the file.
bad() {
    sed "$1" "$work/scenarios/$2.json" >"$work/bad.json" && cp "$work/scenarios/$2.json" "$work/keep.json" &&
        mv "$work/bad.json" "$work/scenarios/$2.json"
    err=$("$bin/ota-conformance" --fixtures "$work" --list 2>&1)
    [ $? -eq 3 ] || fail "$3 must exit 3: $err"
    echo "$err" | grep -q "$2.json: .*$4" || fail "unclear error for $3: $err"
    mv "$work/keep.json" "$work/scenarios/$2.json"
}
bad 's/"at": 20000 }/"at": 20000, "count": -1 }/' http-reset-then-503 "a persistent fault before the last" \
    'only the last may be persistent'
bad 's/"faults": \[/"fault": { "kind": "none" }, "faults": [/' http-reset-then-503 "fault and faults" \
    'not both'
bad 's/"maxAmplification": 1.5/"maxAmplification": 0.5/' http-plain-costed "a limit below 1" \
    '"maxAmplification" must be'
echo "fault sequences and cost limits: ok"
