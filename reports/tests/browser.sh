#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium): the rendered DOM
# must agree with the JUnit file, a failed test must show its timeline with
# the offending message, and the progress chart must have points. Leaves a
# screenshot of the failing report in ARTIFACTS.
# usage: browser.sh BIN_DIR SOURCE_DIR ARTIFACTS
set -u
bin=$1 src=$2 art=$3
work=$(mktemp -d /tmp/ota-browser-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art"
fail() { echo "FAIL: $*"; exit 1; }
command -v chromium >/dev/null || fail "chromium is not installed (ci/install-deps --browser)"

browser() {
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" "$@" 2>/dev/null
}
attr() { grep -o "<body[^>]*" "$work/dom.html" | grep -o "data-$1=\"[^\"]*\"" | cut -d'"' -f2; }
xq() { xmllint --xpath "$1" "$work/junit.xml" 2>/dev/null; }

# A device with one bug: its tests fail, citing FAIL-3. The failure group is enough to show
# passed and failed tests side by side (a whole catalogue's report is report_cli's).
"$bin/ota-conformance" --quiet --jobs 2 --only failure --junit "$work/junit.xml" \
    --html "$work/report.html" --dut-cmd "exec '$bin/ota-ref-device' --bug wrong-fail-code" \
    >"$work/run.txt" 2>&1
[ $? -eq 1 ] || fail "the bug run should fail: $(cat "$work/run.txt")"
xmllint --noout --schema "$src/fixtures/schemas/junit.xsd" "$work/junit.xml" ||
    fail "JUnit does not validate against the schema"

browser --dump-dom "file://$work/report.html" >"$work/dom.html" || fail "chromium failed"
[ "$(attr rendered)" = 1 ] || fail "the report's script did not run"
[ "$(attr tests)" = "$(xq 'string(/testsuites/@tests)')" ] ||
    fail "tests: DOM $(attr tests), JUnit $(xq 'string(/testsuites/@tests)')"
[ "$(attr failed)" = "$(xq 'string(/testsuites/@failures)')" ] ||
    fail "failed: DOM $(attr failed), JUnit $(xq 'string(/testsuites/@failures)')"
[ "$(attr failed)" -ge 1 ] || fail "no failed test rendered"
[ "$(attr points)" -gt 0 ] || fail "the progress charts have no points"

# The first failure names the broken requirement, its timeline shows the message.
first=$(grep -o '<article class="test v-fail[^>]*' "$work/dom.html" | head -1)
echo "$first" | grep -q 'data-rules="FAIL-3"' || fail "first failed test: $first"
awk '/<article class="test v-fail/,/<\/article>/' "$work/dom.html" >"$work/failed.html"
grep -q 'class="timeline"' "$work/failed.html" || fail "the failed test has no timeline"
grep -q 'class="k-mqtt-in offending"' "$work/failed.html" ||
    fail "the offending message is not marked in the timeline"
grep -q '&quot;step&quot;:&quot;-2&quot;\|"step":"-2"' "$work/failed.html" ||
    fail "the offending step -2 is not in the timeline"

browser --window-size=1280,2400 --screenshot="$art/report-failing.png" "file://$work/report.html" ||
    fail "no screenshot"
[ -s "$art/report-failing.png" ] || fail "empty screenshot"
cp "$work/report.html" "$art/report-failing.html"
echo "PASS (screenshot: $art/report-failing.png)"
