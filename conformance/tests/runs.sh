#!/usr/bin/env bash
# How a run ends and what it leaves, whatever happens to it: a device that
# never comes up, outputs in folders that do not exist or cannot be
# written, SIGHUP and SIGKILL, an interrupted run, --baseline-strict; every
# report gives the same counts and the last line agrees with the exit
# status. Also the messages a new user meets first: --only, a profile's
# JSON error, a refused login, ota-report without an output, and the
# "still waiting" lines of a run without a terminal, and the reference
# device's state folder (made when missing) and desc (never over 128 characters).
# usage: runs.sh BIN_DIR
set -u
bin=$1
. "$(dirname "$0")/../../tests/lib.sh"
ota_test_work runs
ref="exec '$bin/ota-ref-device'"

last_line() { tail -1 "$1"; }
jx() { xmllint --xpath "string($2)" "$1"; }
html_count() { grep -o "id=\"n-$2\">[0-9]*" "$1" | cut -d'>' -f2; }
# Every process below pid, now.
descendants() { for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done; }

# ---- a device that never comes up: VER-1 fails, every other test is listed as not run ----
n=$("$bin/ota-conformance" --list --only group:version | wc -l)
[ "$n" -ge 3 ] || fail "--only group:version lists $n tests"
for jobs in 1 2; do
    out="$work/never-$jobs"
    "$bin/ota-conformance" --jobs "$jobs" --only version --time-scale 0.2 \
        --dut-cmd 'echo booting the firmware; sleep 60' \
        --junit "$out/j.xml" --html "$out/r.html" --trace "$out/t.jsonl" >"$out.txt" 2>&1
    rc=$?
    [ "$rc" -eq 3 ] || fail "a device that never comes up (--jobs $jobs) must exit 3, got $rc: $(cat "$out.txt")"
    last_line "$out.txt" | grep -q "^STOPPED: 1 of $n tests ran, 0 passed, 1 failed, 0 N/A, $((n - 1)) not run" ||
        fail "--jobs $jobs: the last line: $(last_line "$out.txt")"
    xmllint --noout "$out/j.xml" || fail "--jobs $jobs: JUnit is not valid"
    [ "$(jx "$out/j.xml" /testsuites/@tests)" = "$n" ] || fail "--jobs $jobs: JUnit tests=$(jx "$out/j.xml" /testsuites/@tests), want $n"
    [ "$(jx "$out/j.xml" /testsuites/@failures)" = 1 ] || fail "--jobs $jobs: JUnit failures"
    [ "$(jx "$out/j.xml" /testsuites/@errors)" = "$((n - 1))" ] || fail "--jobs $jobs: JUnit errors (not run)"
    [ "$(jx "$out/j.xml" '//testcase[failure]/properties/property[@name="failed_rule"]/@value')" = VER-1 ] ||
        fail "--jobs $jobs: the failure is not VER-1's"
    jx "$out/j.xml" '//testcase/failure/@message' | grep -q 'never connected.*booting the firmware' ||
        fail "--jobs $jobs: VER-1's failure lacks the reason and the device's last log lines"
    [ "$(xmllint --xpath 'count(//error[@type="not run"])' "$out/j.xml")" = "$((n - 1))" ] ||
        fail "--jobs $jobs: the other tests are not listed as not run"
    [ "$(html_count "$out/r.html" tests)/$(html_count "$out/r.html" failed)/$(html_count "$out/r.html" not-run)" = "$n/1/$((n - 1))" ] ||
        fail "--jobs $jobs: the HTML counts differ"
    grep -q 'badge b-unfinished">STOPPED' "$out/r.html" || fail "--jobs $jobs: the HTML does not say STOPPED"
done
# ota-report rebuilds the same counts from the trace.
"$bin/ota-report" --trace "$work/never-1/t.jsonl" --junit "$work/again/j.xml" ||
    fail "ota-report on a stopped run's trace (into a new folder) failed"
[ "$(jx "$work/again/j.xml" /testsuites/@tests)" = "$n" ] || fail "ota-report lost the not-run tests"

# ---- outputs: missing folders are made; one that cannot be written stops the run before it starts ----
"$bin/ota-conformance" --quiet --only url_used_verbatim --junit "$work/a/b/j.xml" \
    --html "$work/c/r.html" --trace "$work/d/e/t.jsonl" >"$work/mk.txt" 2>&1 ||
    fail "outputs in folders that do not exist: $(cat "$work/mk.txt")"
[ -s "$work/a/b/j.xml" ] && [ -s "$work/c/r.html" ] && [ -s "$work/d/e/t.jsonl" ] ||
    fail "an output in a new folder was not written"
touch "$work/plain-file"
for opt in --junit --html --trace; do
    start=$(date +%s)
    err=$("$bin/ota-conformance" --only url_used_verbatim "$opt" "$work/plain-file/out" 2>&1)
    rc=$?
    [ "$rc" -eq 3 ] || fail "an unwritable $opt must exit 3, got $rc: $err"
    echo "$err" | grep -q "$work/plain-file.*Not a directory" || fail "$opt: no file or reason: $err"
    echo "$err" | grep -q '^PASS' && fail "$opt: a test ran before the output was checked: $err"
    [ $(($(date +%s) - start)) -le 5 ] || fail "$opt: the check came late"
done
err=$("$bin/ota-report" --trace "$work/never-1/t.jsonl" --html "$work/plain-file/r.html" 2>&1)
[ $? -eq 3 ] && echo "$err" | grep -q 'Not a directory' || fail "ota-report: unwritable output: $err"
err=$("$bin/ota-report" --trace "$work/never-1/t.jsonl" 2>&1)
[ $? -eq 2 ] && echo "$err" | grep -q 'nothing to write: give --junit FILE, --html FILE' ||
    fail "ota-report without an output does not say what is missing: $err"
err=$("$bin/ota-report" --trace "$work/nonexistent.jsonl" --junit "$work/x.xml" 2>&1)
echo "$err" | grep -q 'No such file or directory' || fail "ota-report: no reason for an unreadable trace: $err"

# ---- SIGHUP (a closed terminal) as SIGTERM: the reports are written; one set of counts ----
"$bin/ota-conformance" --only group:failure --junit "$work/hup/j.xml" --html "$work/hup/r.html" \
    --trace "$work/hup/t.jsonl" >"$work/hup.txt" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 1 600); do
    [ "$(cat "$work/hup/t.jsonl" 2>/dev/null | grep -c '"info":"end ')" -ge 2 ] && break
    sleep 0.05
done
kill -HUP "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] || fail "SIGHUP must end the run as interrupted (130), got $rc: $(cat "$work/hup.txt")"
total=$("$bin/ota-conformance" --list --only group:failure | wc -l)
ran=$(grep -c '"info":"begin ' "$work/hup/t.jsonl")
last_line "$work/hup.txt" | grep -q "^INTERRUPTED: $ran of $total tests ran, .* $((total - ran)) not run" ||
    fail "the interrupted run's last line: $(last_line "$work/hup.txt")"
[ "$(jx "$work/hup/j.xml" /testsuites/@tests)" = "$total" ] || fail "the interrupted run's JUnit does not list every test"
[ "$(xmllint --xpath 'count(//error[@type="not run"])' "$work/hup/j.xml")" = "$((total - ran))" ] ||
    fail "the interrupted run's JUnit: not-run count"
[ "$(html_count "$work/hup/r.html" ran)/$(html_count "$work/hup/r.html" tests)" = "$ran/$total" ] ||
    fail "the interrupted run's HTML counts"
grep -q 'badge b-unfinished">INTERRUPTED' "$work/hup/r.html" || fail "the HTML does not say INTERRUPTED"
# FAIL-4's only test is late in the group: never judged, so "not tested", never "pass".
grep -q 'data-verdict="untested" data-rule="FAIL-4"' "$work/hup/r.html" ||
    fail "a rule whose tests did not run is not 'not tested' in the HTML"

# ---- SIGKILL (a CI hard timeout) and SIGHUP: no process of the run is left ----
for how in KILL HUP; do
    for jobs in 1 2; do
        "$bin/ota-conformance" --jobs "$jobs" --only group:failure --quiet >"$work/kill.txt" 2>&1 &
        pid=$!
        kids=""
        for _ in $(seq 1 200); do
            kids=$(descendants "$pid")
            # up: a broker and a device for each instance
            [ "$(echo "$kids" | xargs -r ps -o comm= -p 2>/dev/null | grep -c 'ota-ref-device')" -ge "$jobs" ] && break
            sleep 0.05
        done
        [ -n "$kids" ] || fail "SIG$how --jobs $jobs: the run started no process"
        sleep 1
        kids=$(descendants "$pid")
        kill -"$how" "$pid"
        wait "$pid" 2>/dev/null
        left=""
        for _ in $(seq 1 200); do
            left=""
            for k in $kids; do kill -0 "$k" 2>/dev/null && left="$left $k($(ps -o comm= -p "$k"))"; done
            [ -z "$left" ] && break
            sleep 0.05
        done
        [ -z "$left" ] || fail "SIG$how --jobs $jobs left processes running:$left"
    done
done

# ---- the last line agrees with the exit status: --baseline-strict ----
"$bin/ota-conformance" --quiet --only url_used_verbatim --trace "$work/base.jsonl" >"$work/b1.txt" 2>&1 ||
    fail "the baseline run failed: $(cat "$work/b1.txt")"
last_line "$work/b1.txt" | grep -q '^PASSED: 1 test, 1 passed' || fail "a passing run's last line: $(last_line "$work/b1.txt")"
"$bin/ota-conformance" --only url_used_verbatim --baseline "$work/base.jsonl" --baseline-strict \
    --dut-cmd "$ref --bug download-twice" >"$work/b2.txt" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--baseline-strict worse must exit 1, got $rc"
last_line "$work/b2.txt" | grep -q '^FAILED: .*1 worse than the baseline' ||
    fail "--baseline-strict: the last line does not agree with exit 1: $(last_line "$work/b2.txt")"

# ---- --only: a group or rule exactly, prefixes, any case, globs, did you mean ----
list() { "$bin/ota-conformance" --list --only "$1" | awk '{print $1 "/" $2}'; }
[ "$(list version)" = "$(list group:version)" ] || fail "--only version is not the version group: $(list version)"
list version | grep -qv '^version/' && fail "--only version selects tests outside the group"
[ "$(list fail-3)" = "$(list FAIL-3)" ] || fail "--only is case-sensitive"
[ "$(list rule:fail-3)" = "$(list FAIL-3)" ] || fail "rule: differs from a bare rule ID"
list test:version | grep -q 'final/target_version' || fail "test:version does not match names"
[ "$(list 'PROG-*' | wc -l)" -ge 5 ] || fail "a glob no longer works"
err=$("$bin/ota-conformance" --only versoin 2>&1)
[ $? -eq 2 ] && echo "$err" | grep -q "no test matches 'versoin'; did you mean 'version'" ||
    fail "no did-you-mean: $err"

# ---- a profile's JSON error: line and column; a refused login: the text the broker signed ----
printf '{"productKey":"a1P","deviceName":"d",\n "deviceSecret":"s"\n "module":"m"}\n' >"$work/bad.json"
err=$("$bin/ota-conformance" --quiet --device "$work/bad.json" 2>&1)
[ $? -eq 3 ] && echo "$err" | grep -q "$work/bad.json: .*line 3, column 2" || fail "no line and column: $err"
out=$("$bin/ota-conformance" --only SEC-1 --dut-cmd "$ref --bug bad-sign-key" 2>&1)
echo "$out" | tr '\n' ' ' | grep -q "broker signed *'clientIda1RefProd01.ref-device-01deviceNameref-device-01productKeya1RefProd01timestamp" ||
    fail "a refused login does not show the signed text: $out"

# ---- the reference device's state folder: made when missing, one sentence when it cannot be ----
fresh="$work/fresh/flash"
out=$("$bin/ota-conformance" --only target_version_reported_after_upgrade \
    --dut-cmd "$ref --state-dir '$fresh'" 2>&1) || fail "a state folder that does not exist yet: $out"
[ "$(stat -c %a "$fresh")" = 700 ] || fail "the new state folder is not 0700: $(stat -c %a "$fresh")"
: >"$work/a-file"
err=$("$bin/ota-ref-device" --host 127.0.0.1 --port 1 --product-key a1P --device-name d \
    --device-secret s --firmware-version 1.0.0 --state-dir "$work/a-file/flash" 2>&1)
[ $? -eq 2 ] && echo "$err" | grep -q "^ota-ref-device: the state folder $work/a-file/flash .*cannot be made or written: Not a directory$" ||
    fail "a state folder that cannot be made: $err"
# ---- its desc stays within PROG-2, cut on a character: a long reason naming a UTF-8 path ----
long="$work/$(printf 'é%.0s' $(seq 1 120))"
mkdir -p "$long/download.part" # every download fails: "cannot write <long path>/download.part: ..."
out=$("$bin/ota-conformance" --only PROG-2 --dut-cmd "$ref --state-dir '$long'" --trace "$work/desc.jsonl" 2>&1) ||
    fail "the reference device's desc of a failure breaks PROG-2: $out"
grep -q 'step\\":\\"-2\\",\\"desc\\":\\"cannot write' "$work/desc.jsonl" || fail "no -2 naming the path: $out"
! grep '"kind":"mqtt-in"' "$work/desc.jsonl" | grep -q '"bad_utf8":' || fail "a desc cut inside a character"

# ---- no terminal: a waiting test says so every 15 s ----
"$bin/ota-conformance" --only 'test:download_404*' --time-scale 0.3 \
    --dut-cmd "$ref --bug silent-failure" >"$work/still.txt" 2>&1
grep -q '^      still waiting for FAIL-2 in failure/download_404_reports_minus_2: 1[5-7] s of 18' "$work/still.txt" ||
    fail "no 'still waiting' line: $(cat "$work/still.txt")"
echo "PASS"
