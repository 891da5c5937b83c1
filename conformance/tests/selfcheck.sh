#!/usr/bin/env bash
# Self-check: the suite must pass the reference device cleanly (no warnings,
# even under --strict) and must catch every bug switch of the reference
# device, citing the rule the bug breaks. Prints the mutation score.
# usage: selfcheck.sh BIN_DIR                everything: reference and every bug
#        selfcheck.sh BIN_DIR --reference [aliyun|thingspanel]
#                                            the reference device only (one dialect's passes)
#        selfcheck.sh BIN_DIR BUG ...        these bugs only (ctest runs one per entry)
# SELFCHECK_KEEP=DIR keeps the plain Aliyun reference run there (trace.jsonl, junit.xml,
# report.html, out.txt): reports/tests/report_cli.sh reads it instead of running the
# same catalogue again.
set -u
bin=$1
shift
fixtures=$(cd "$(dirname "$0")/../../fixtures" && pwd)
work=$(mktemp -d /tmp/ota-selfcheck-XXXXXX)
# Kept when something fails, so the traces can be read.
trap 'if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "traces and JUnit kept in $work"; fi' EXIT
status=0
# Mutant runs use shorter deadlines: a bug must be caught, not waited out.
scale=${SELFCHECK_TIME_SCALE:-0.5}

# One reference pass: NAME, the summary text it must print, then its options.
check_reference() {
    local name=$1 want=$2 out="$work/ref-$1.txt"
    shift 2
    if ! "$bin/ota-conformance" --strict --quiet --jobs 4 "$@" --junit "$work/ref-$name.xml" \
        --trace "$work/ref-$name.jsonl" --html "$work/ref-$name.html" >"$out" 2>&1; then
        echo "reference device ($name): FAILED (it must pass everything)"; cat "$out"; return 1
    fi
    if ! grep -qF "$want" "$out"; then
        echo "reference device ($name): not clean"; cat "$out"; return 1
    fi
    xmllint --noout "$work/ref-$name.xml" ||
        { echo "reference device ($name): JUnit is not valid XML"; return 1; }
    echo "reference device ($name): $(head -1 "$out")"
    if [ "$name" = plain ] && [ -n "${SELFCHECK_KEEP:-}" ]; then
        rm -rf "$SELFCHECK_KEEP" && mkdir -p "$SELFCHECK_KEEP" &&
            cp "$work/ref-$name.jsonl" "$SELFCHECK_KEEP/trace.jsonl" &&
            cp "$work/ref-$name.xml" "$SELFCHECK_KEEP/junit.xml" &&
            cp "$work/ref-$name.html" "$SELFCHECK_KEEP/report.html" &&
            cp "$out" "$SELFCHECK_KEEP/out.txt" || return 1
    fi
}

# The whole catalogue, plain TCP and then over TLS, four device instances side by side.
# Plain runs have seven N/A: SEC-3 (HTTPS and MQTTS) is judged over TLS only, and the image
# group's five tests need a firmware section (conformance/tests/firmware.sh runs them).
# The ThingsPanel dialect runs plain TCP and over TLS too: its own tests pass, and every
# Aliyun test it cannot judge is N/A with the reason (51 of them plain, the power group's
# three and the image group's five among them, 49 over TLS, where the two SEC-3 tests run).
# $1: aliyun or thingspanel for that dialect's passes only; empty for both.
run_reference() {
    if [ "${1:-aliyun}" = aliyun ]; then
        check_reference plain ' 0 failed, 7 N/A, 0 warnings, strict (' || return 1
        # Over TLS with a persistent session (clean session off, as the 3.x device SDK
        # connects): no push of an ended job comes back on a reconnect, power cuts included.
        check_reference tls ' 0 failed, 5 N/A, 0 warnings, strict, TLS' --tls \
            --dut-cmd "exec '$bin/ota-ref-device' --persistent-session" || return 1
    fi
    [ "${1:-thingspanel}" = thingspanel ] || return 0
    # A device that reads only the contract's ThingsPanel names for its identity.
    check_reference thingspanel ' 0 failed, 51 N/A, 0 warnings, strict (' \
        --dialect thingspanel --dut-cmd "exec env -u OTA_PRODUCT_KEY -u OTA_DEVICE_NAME \
        -u OTA_DEVICE_SECRET '$bin/ota-ref-device'" || return 1
    check_reference thingspanel-tls ' 0 failed, 49 N/A, 0 warnings, strict, TLS' \
        --dialect thingspanel --tls || return 1
    local x
    for x in thingspanel thingspanel-tls; do
        grep -q '<property name="dialect" value="thingspanel"/>' "$work/ref-$x.xml" ||
            { echo "reference device ($x): JUnit does not name the dialect"; return 1; }
    done
}

# A cost switch (its rule is "conformant"): it breaks no rule, so the run must pass, under
# --strict, the whole catalogue (--baseline shows what it costs:
# conformance/tests/baseline.sh). It is not counted in the mutation score.
run_conformant() {
    local bug=$1 out="$work/$1.txt"
    if "$bin/ota-conformance" --strict --quiet --jobs 4 \
        --junit "$work/$bug.xml" --trace "$work/$bug.jsonl" \
        --dut-cmd "exec '$bin/ota-ref-device' --bug $bug" >"$out" 2>&1; then
        echo "conformant --bug $bug: $(head -1 "$out")"
        return 0
    fi
    echo "NOT CONFORMANT --bug $bug: a cost switch must pass"
    sed 's/^/    /' "$out" | head -20
    return 1
}

# One bug: the run must fail, and a failure must cite the expected rule.
# The run is limited to the tests that judge that rule (--only RULE): the
# reference run above proves every other test passes a correct device, and
# the whole catalogue per mutant would cost minutes each. SELFCHECK_FULL=1
# runs the whole catalogue against every mutant instead. Device instances side
# by side, one per test of the rule (three to nine): a mutant that never reports
# waits out every test's bound (FAIL-2's nine tests, 30 s each at this time
# scale), and those waits overlap: one round instead of three (silent-failure
# 92 s -> 32 s under ASan; retry-flood, nine instances retrying every 5 ms,
# 69 s -> 32 s).
run_bug() {
    local bug=$1 rule=$2 strict="" out="$work/$1.txt" xml="$work/$1.xml" hits only=() extra=()
    local jobs
    jobs=$("$bin/ota-conformance" --list --only "$rule" 2>/dev/null | wc -l)
    [ "$jobs" -ge 3 ] || jobs=3
    [ "$jobs" -le 9 ] || jobs=9
    case " $SHOULD_RULES " in *" $rule "*) strict=--strict ;; esac
    case " $TLS_RULES " in *" $rule "*) extra=(--tls) ;; esac
    # A ThingsPanel rule is judged in that dialect.
    case "$rule" in TP-*) extra+=(--dialect thingspanel) ;; esac
    # Rules on images the device checks itself: the device with --image-check and its profile's
    # firmware section (images built by ota-image).
    local devopt=""
    case "$rule" in IMG-* | DIFF-*)
        extra+=(--device "$fixtures/devices/ref-image-check.json"); devopt=" --image-check" ;;
    esac
    [ -n "${SELFCHECK_FULL:-}" ] || only=(--only "$rule")
    "$bin/ota-conformance" $strict "${only[@]}" "${extra[@]}" --jobs "$jobs" --quiet --time-scale "$scale" --junit "$xml" \
        --trace "$work/$bug.jsonl" --dut-cmd "exec '$bin/ota-ref-device'$devopt --bug $bug" >"$out" 2>&1
    local rc=$?
    hits=$(xmllint --xpath "count(//failure[@type='$rule'])" "$xml" 2>/dev/null || echo 0)
    if [ "$rc" -eq 1 ] && [ "${hits%%.*}" -gt 0 ]; then
        echo "caught   --bug $bug: $hits test(s) fail citing $rule"
        return 0
    fi
    echo "MISSED   --bug $bug: expected a failure citing $rule (exit $rc)"
    sed 's/^/    /' "$out" | head -20
    return 1
}

# Rules judged only over TLS: their mutants run with --tls.
TLS_RULES="SEC-3"
# SHOULD rules are caught only under --strict (judging.md tiers).
SHOULD_RULES="VER-3 VER-4 VER-7 PUSH-3 PUSH-4 PUSH-9 PUSH-10 PROG-4 PROG-5 PROG-7 PROG-8 FAIL-2B FAIL-3S FAIL-1 FAIL-B DL-3 DL-6 DL-9 SEC-4 PWR-4 TP-PUSH-4 TP-PROG-2"

bugs=("$@")
if [ "${1:-}" = "--reference" ]; then
    run_reference "${2:-}" || status=1
    exit $status
fi
if [ ${#bugs[@]} -eq 0 ]; then
    run_reference || status=1
    mapfile -t bugs < <("$bin/ota-ref-device" --list-bugs | awk '{print $1}')
fi
total=0
caught=0
pids=()
for bug in "${bugs[@]}"; do
    rule=$("$bin/ota-ref-device" --list-bugs | awk -v b="$bug" '$1 == b {print $2}')
    [ -n "$rule" ] || { echo "unknown bug $bug"; status=1; continue; }
    if [ "$rule" = conformant ]; then
        run_conformant "$bug" || status=1
        continue
    fi
    total=$((total + 1))
    ( run_bug "$bug" "$rule" >"$work/$bug.result" ) &
    pids+=($!)
    # two at a time: the machines have two cores
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
for bug in "${bugs[@]}"; do
    [ -f "$work/$bug.result" ] || continue
    cat "$work/$bug.result"
    grep -q '^caught' "$work/$bug.result" && caught=$((caught + 1))
done
# A crash must be reported with its status and the device's last words.
if [ -f "$work/crash-on-push.txt" ] && ! grep -q 'crashed during the test: killed by signal 6' \
    "$work/crash-on-push.txt"; then
    echo "crash-on-push: the failure does not name the signal"; status=1
fi
echo "mutation score: $caught/$total ($(( total ? 100 * caught / total : 100 ))%)"
[ "$caught" -eq "$total" ] || status=1
exit $status
