#!/usr/bin/env bash
# Benchmark, not a test: the suite's wall time against the reference device
# with 1, 4 and 8 device instances (--jobs), each beside the lower bound
# the catalogue itself imposes. The reference device answers at once, so
# the run with one instance takes what the catalogue's waits add up to
# (each test's own, and the quiet the runner awaits between tests): W. For
# N instances the bound is the larger of W/N and the longest test; the
# stricter bound from the tests' own times alone (without the quiet between
# them) is shown beside it. Overhead = wall / bound - 1.
#
#   bench/suite.sh [JOBS...]     default: 1 4 8 (1 always runs first)
#   BIN=DIR                      the programs (default build/release/bin)
set -u
cd "$(dirname "$0")/.."
bin=${BIN:-build/release/bin}
counts=${*:-1 4 8}
work=$(mktemp -d /tmp/ota-bench-suite-XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -x "$bin/ota-conformance" ] || { echo "no $bin/ota-conformance (./ci/build release)" >&2; exit 1; }

# One run: its wall time in seconds on stdout; the JUnit in $work/jN.xml.
run() { # jobs
    local start end
    start=$(date +%s.%N)
    "$bin/ota-conformance" --quiet --jobs "$1" --junit "$work/j$1.xml" --trace "$work/j$1.jsonl" \
        >"$work/j$1.log" 2>&1
    end=$(date +%s.%N)
    grep -q '^PASSED' "$work/j$1.log" || echo "note: --jobs $1: $(tail -1 "$work/j$1.log")" >&2
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
tests_seconds() { # junit: "sum longest count"
    grep -o '<testcase [^>]*time="[0-9.]*"' "$1" | sed 's/.*time="\([0-9.]*\)"/\1/' |
        awk '{ s += $1; if ($1 > m) m = $1; n++ } END { printf "%.2f %.2f %d", s, m, n }'
}

echo "machine: $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
wall1=$(run 1)
read -r sum longest n <<<"$(tests_seconds "$work/j1.xml")"
echo "catalogue: $n tests; one instance: $wall1 s wall (W), the tests' own times $sum s, the longest $longest s"
printf '%-6s %9s %9s %9s %14s %9s\n' jobs "wall s" "bound s" overhead "tests-only s" overhead
for j in $counts; do
    if [ "$j" -eq 1 ]; then wall=$wall1; else wall=$(run "$j"); fi
    awk -v j="$j" -v w="$wall" -v W="$wall1" -v s="$sum" -v m="$longest" 'BEGIN {
        b = W / j; if (m > b) b = m
        t = s / j; if (m > t) t = m
        printf "%-6s %9.2f %9.2f %8.0f%% %14.2f %8.0f%%\n", j, w, b, (w / b - 1) * 100, t, (w / t - 1) * 100 }'
done
