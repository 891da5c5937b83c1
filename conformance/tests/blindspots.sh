#!/usr/bin/env bash
# What every test judges beyond its own rules, and FAIL-3T's fairness, against
# the reference device (issue 23):
# - a hot loop in a test that does not cite FAIL-B (the device asks for the same
#   bytes again and again on a chunked or length-less response) warns FAIL-B;
# - progress too often in a test that does not cite PROG-5 warns PROG-5;
# - a device that downloads once more after a digest mismatch, a second later,
#   and would install clean bytes (--redownload-once) passes every FAIL-3 and
#   FAIL-B test under --strict: every corrupting fault lasts the whole job.
set -u
bin=$1
work=$(mktemp -d /tmp/ota-blindspots-XXXXXX)
trap 'if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "kept in $work"; fi' EXIT
status=0

# NAME, then the options of one run; its summary in $work/NAME.txt.
run() {
    local name=$1
    shift
    "$bin/ota-conformance" --quiet --junit "$work/$name.xml" --trace "$work/$name.jsonl" "$@" \
        >"$work/$name.txt" 2>&1
}

# NAME TEST RULE: test TEST passed with a warning citing RULE.
warned() {
    local n
    n=$(xmllint --xpath "count(//testcase[@name='$2']/properties/property[@name='warning' and starts-with(@value,'$3:')])" \
        "$work/$1.xml" 2>/dev/null || echo 0)
    if [ "${n%%.*}" -gt 0 ] && ! grep -q "FAIL .*$2" "$work/$1.txt"; then
        echo "ok: $2 warns $3 ($1)"
    else
        echo "FAIL: $2 should pass with a warning citing $3 ($1)"; sed 's/^/    /' "$work/$1.txt"
        status=1
    fi
}

# A device that retries a chunked or length-less response every 5 ms, without end
# (as Link SDK 4.x asks bytes=0- thousands of times a second). Short bounds: the
# loop shows in the first second.
run loop --jobs 2 --time-scale 0.25 --only DL-9 \
    --dut-cmd "exec '$bin/ota-ref-device' --bug no-chunked --bug retry-flood" &
loop=$!
# Progress every 0.3 s in a test that judges only DL-8.
run flood --jobs 1 --only pause_2s_completes \
    --dut-cmd "exec '$bin/ota-ref-device' --bug progress-flood"
run again --strict --jobs 2 --only 'FAIL-[3B]' \
    --dut-cmd "exec '$bin/ota-ref-device' --redownload-once"
again=$?
wait "$loop"
warned loop chunked_encoding FAIL-B
warned loop no_content_length FAIL-B
warned flood pause_2s_completes PROG-5
if [ "$again" -eq 0 ] && grep -q ' 0 failed, 0 N/A, 0 warnings, strict' "$work/again.txt" &&
    grep -q 'downloading the image again' "$work/again.jsonl"; then
    echo "ok: a device that downloads again after a mismatch passes FAIL-3 and FAIL-B: $(head -1 "$work/again.txt")"
else
    echo "FAIL: --redownload-once must pass every FAIL-3 and FAIL-B test, having downloaded again"
    sed 's/^/    /' "$work/again.txt"
    status=1
fi
exit $status
