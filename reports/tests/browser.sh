#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium): the rendered DOM
# must agree with the JUnit file, a failed test must show its timeline with
# the offending message, the progress chart must have points, and "failed
# only" must leave only the failing rules, highlighted. Leaves a
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

# "failed only" leaves only the failing rules in the requirement table, and those are highlighted:
# the box is ticked by a script after the report's own, as a reader would.
sed 's|</body>|<script>var b=document.getElementById("f-failed");b.checked=true;b.dispatchEvent(new Event("change"));var r=[].slice.call(document.querySelectorAll("tr.rule"));document.body.dataset.rulesShown=r.filter(function(x){return !x.classList.contains("hidden")}).length;document.body.dataset.rulesFailing=document.querySelectorAll("tr.rule.r-fail").length;document.body.dataset.failHighlight=getComputedStyle(document.querySelector("tr.r-fail td")).backgroundColor;</script></body>|' \
    "$work/report.html" >"$work/filtered.html"
browser --dump-dom "file://$work/filtered.html" >"$work/dom.html" || fail "chromium failed (filtered)"
[ "$(attr rules-failing)" -ge 1 ] || fail "no failing rule in the requirement table"
[ "$(attr rules-shown)" = "$(attr rules-failing)" ] ||
    fail "failed only shows $(attr rules-shown) rules, $(attr rules-failing) of them failing"
[ "$(attr fail-highlight)" = "rgb(253, 236, 234)" ] || fail "the failing rule is not highlighted: $(attr fail-highlight)"

browser --window-size=1280,2400 --screenshot="$art/report-failing.png" "file://$work/report.html" ||
    fail "no screenshot"
[ -s "$art/report-failing.png" ] || fail "empty screenshot"
cp "$work/report.html" "$art/report-failing.html"
echo "PASS (screenshot: $art/report-failing.png)"
