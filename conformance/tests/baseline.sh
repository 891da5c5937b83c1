#!/usr/bin/env bash
# --baseline: two runs of the same build show no difference; a device that
# only downloads more (the reference device's cost switch download-twice,
# which stays conformant) shows one, in the summary, in JUnit (properties,
# and failures under --baseline-strict) and in the HTML report; ota-report
# renders the same from the traces. Also: the cost figures are in JUnit.
# usage: baseline.sh BIN_DIR
set -u
bin=$1
work=$(mktemp -d /tmp/ota-baseline-XXXXXX)
trap 'if [ "$ok" = 1 ]; then rm -rf "$work"; else echo "kept in $work"; fi' EXIT
ok=0
fail() { echo "FAIL: $*"; exit 1; }
run() { # NAME, then options
    local name=$1
    shift
    "$bin/ota-conformance" --quiet --jobs 3 --only download --trace "$work/$name.jsonl" \
        --junit "$work/$name.xml" --html "$work/$name.html" "$@" >"$work/$name.txt" 2>&1
}
xq() { xmllint --xpath "$2" "$work/$1.xml" 2>/dev/null; }

run first || fail "the reference device failed: $(cat "$work/first.txt")"
# The cost of every test is in JUnit: one connection closed costs 1.00x the image with Range.
[ "$(xq first 'string(//testcase[@name="resumes_with_range"]//property[@name="amplification"]/@value)')" = 1.00 ] ||
    fail "resumes_with_range: no amplification 1.00 in JUnit"
[ "$(xq first 'string(//testcase[@name="resumes_with_range"]//property[@name="retries"]/@value)')" = 1 ] ||
    fail "resumes_with_range: not one retry in JUnit"
grep -q 'id="cost"' "$work/first.html" || fail "the HTML report has no cost section"

# The same build again: no difference, even under --baseline-strict.
run again --baseline "$work/first.jsonl" --baseline-strict ||
    fail "a second run of the same build failed against its baseline: $(cat "$work/again.txt")"
grep -q 'no difference beyond the thresholds' "$work/again.txt" ||
    fail "a second run of the same build differs: $(cat "$work/again.txt")"
grep -q 'id="baseline" data-changed="0"' "$work/again.html" ||
    fail "the HTML report of the second run has no baseline section without changes"

# A device that downloads every image twice: conformant, but worse than the baseline.
run twice --baseline "$work/first.jsonl" --dut-cmd "exec '$bin/ota-ref-device' --bug download-twice" ||
    fail "download-twice must stay conformant: $(cat "$work/twice.txt")"
grep -q 'WORSE  download/survives_reset: bytes 65536 (1.00x) -> 131072 (2.00x)' "$work/twice.txt" ||
    fail "the summary does not show the doubled download: $(cat "$work/twice.txt")"
[ "$(xq twice 'count(//property[@name="baseline.worse"])')" -ge 10 ] ||
    fail "JUnit does not list the differences as properties"
[ "$(xq twice 'count(//failure)')" = 0 ] || fail "without --baseline-strict nothing fails"
grep -q 'id="baseline" data-changed="[1-9]' "$work/twice.html" ||
    fail "the HTML report has no baseline section with the changes"

# --baseline-strict: the same comparison fails, in JUnit and in the exit status (ota-report).
"$bin/ota-report" --trace "$work/twice.jsonl" --baseline "$work/first.jsonl" --baseline-strict \
    --junit "$work/strict.xml" --html "$work/strict.html" >"$work/strict.txt" 2>&1
[ $? -eq 1 ] || fail "ota-report --baseline-strict must exit 1: $(cat "$work/strict.txt")"
[ "$(xq strict 'count(//failure[@type="BASELINE"])')" -ge 10 ] ||
    fail "--baseline-strict: JUnit has no BASELINE failures"
xmllint --noout "$work/strict.xml" || fail "JUnit with a baseline is not valid XML"
# Larger thresholds absorb the change.
"$bin/ota-report" --trace "$work/twice.jsonl" --baseline "$work/first.jsonl" --baseline-strict \
    --baseline-threshold bytes=150 --baseline-threshold requests=20 --baseline-threshold retries=20 \
    --baseline-threshold messages=20 --html "$work/loose.html" >"$work/loose.txt" 2>&1 ||
    fail "thresholds above the change must absorb it: $(cat "$work/loose.txt")"
"$bin/ota-report" --trace "$work/twice.jsonl" --baseline "$work/first.jsonl" \
    --baseline-threshold nosuch=1 --html "$work/x.html" 2>/dev/null
[ $? -eq 2 ] || fail "an unknown threshold must be bad usage"
"$bin/ota-conformance" --baseline /nonexistent --only url_used >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unreadable --baseline must be refused before the run"
ok=1
echo "PASS"
