#!/usr/bin/env bash
# ota-report rebuilds the reports from a trace, also from a run killed
# half-way: the unfinished test is marked, JUnit stays valid. A full run's
# HTML stays under 2 MiB.
# usage: report_cli.sh BIN_DIR SOURCE_DIR [FULL_RUN_DIR]
# FULL_RUN_DIR: a whole-catalogue reference run already made (trace.jsonl and
# report.html; ctest's selfcheck_reference keeps one), else this script runs one.
set -u
bin=$1 src=$2 full=${3:-}
work=$(mktemp -d /tmp/ota-report-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if [ -n "$full" ]; then
    [ -s "$full/trace.jsonl" ] && [ -s "$full/report.html" ] ||
        fail "no reference run in $full (selfcheck_reference keeps it)"
    cp "$full/trace.jsonl" "$work/full.jsonl" && cp "$full/report.html" "$work/full.html" ||
        fail "cannot copy the reference run of $full"
    grep -q '"info":"run-end"' "$work/full.jsonl" || fail "the reference run in $full did not finish"
else
    "$bin/ota-conformance" --quiet --jobs 4 --trace "$work/full.jsonl" --html "$work/full.html" \
        >/dev/null || fail "the reference run failed"
fi
size=$(stat -c %s "$work/full.html")
[ "$size" -lt 2097152 ] || fail "a full run's HTML is $size bytes (limit 2 MiB)"
"$bin/ota-report" --trace "$work/full.jsonl" --junit "$work/full.xml" --html "$work/again.html" ||
    fail "ota-report failed on a complete trace"
xmllint --noout --schema "$src/fixtures/schemas/junit.xsd" "$work/full.xml" || fail "invalid JUnit"

# Kill a run in the middle of a test (FAIL-2 waits for retries: plenty of time).
"$bin/ota-conformance" --quiet --only FAIL-2 --trace "$work/killed.jsonl" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
    grep -q '"info":"begin failure/download_404' "$work/killed.jsonl" 2>/dev/null && break
    sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
"$bin/ota-report" --trace "$work/killed.jsonl" --junit "$work/killed.xml" \
    --html "$work/killed.html" 2>"$work/err.txt" || fail "ota-report failed on a killed run"
grep -q 'did not finish' "$work/err.txt" || fail "ota-report did not say the run was cut short"
xmllint --noout --schema "$src/fixtures/schemas/junit.xsd" "$work/killed.xml" ||
    fail "the killed run's JUnit is invalid"
[ "$(xmllint --xpath 'string(/testsuites/@failures)' "$work/killed.xml")" = 1 ] ||
    fail "the unfinished test is not counted as failed"
grep -q 'unfinished: the run ended before this test did' "$work/killed.xml" ||
    fail "the unfinished test is not explained"
grep -q 'UNFINISHED' "$work/killed.html" || fail "the HTML does not mark the run unfinished"

# A --jobs run killed half-way: every test that ended is in the trace already.
"$bin/ota-conformance" --quiet --jobs 2 --only failure --trace "$work/pkilled.jsonl" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
    [ "$(cat "$work/pkilled.jsonl" 2>/dev/null | grep -c '"info":"end ')" -ge 3 ] && break
    sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
ended=$(grep -c '"info":"end ' "$work/pkilled.jsonl")
[ "$ended" -ge 3 ] || fail "a killed --jobs run left $ended finished tests in its trace"
"$bin/ota-report" --trace "$work/pkilled.jsonl" --junit "$work/pkilled.xml" 2>/dev/null ||
    fail "ota-report failed on a killed --jobs run"
[ "$(xmllint --xpath 'string(/testsuites/@tests)' "$work/pkilled.xml")" -ge "$ended" ] ||
    fail "the killed --jobs run's JUnit lost tests"

# Bad input: a missing trace, a file that is not a trace, bad usage.
"$bin/ota-report" --trace /nonexistent --html "$work/x.html" 2>/dev/null
[ $? -eq 3 ] || fail "a missing trace must exit 3"
echo '{"not":"a trace"}' >"$work/junk.jsonl"
err=$("$bin/ota-report" --trace "$work/junk.jsonl" --html "$work/x.html" 2>&1)
[ $? -eq 3 ] || fail "a non-trace must exit 3"
echo "$err" | grep -q 'not a trace of ota-conformance' || fail "unclear error: $err"
"$bin/ota-report" --html x 2>/dev/null
[ $? -eq 2 ] || fail "missing --trace must exit 2"
echo PASS
