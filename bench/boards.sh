#!/usr/bin/env bash
# Benchmark, not a test: the whole catalogue against ota-pty-board boards
# (the reference device behind a pty, met through the serial adapter, as a
# board on USB), on one board and then on two at once (a lab file). Prints
# both wall times and their ratio beside the target (two boards take at
# most 60 % of one board's time) and the bound the catalogue allows: the
# larger of half the one-board time and the longest test.
#
#   bench/boards.sh [--no-build]   --no-build: build/release is current
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_setup boards "$([ "${1:-}" = --no-build ] && echo 0 || echo 1)" ota-conformance ota-pty-board ota-ref-device

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_pair() {
    local p
    while :; do
        p=$((20000 + (RANDOM % 6000) * 2))
        listening "$p" || listening $((p + 1)) || { echo "$p"; return; }
    done
}
start_board() { # name mqtt-port
    mkdir -p "$work/state-$1"
    "$bin/ota-pty-board" --link "$work/tty-$1" -- \
        "$bin/ota-ref-device" --host 127.0.0.1 --port "$2" \
        --product-key a1RefProd01 --device-name ref-device-01 \
        --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
        --state-dir "$work/state-$1" 2>>"$work/board-$1.log" &
    for _ in $(seq 1 100); do [ -e "$work/tty-$1" ] && break; sleep 0.05; done
}
board_entry() { # name port
    echo "{ \"name\": \"$1\", \"profile\": \"$PWD/fixtures/devices/ref-serial.json\", \"port\": \"$work/tty-$1\", \"mqttPort\": $2, \"httpPort\": $(($2 + 1)) }"
}
run() { # label args...: the wall time in seconds
    local label=$1 start end
    shift
    start=$(date +%s.%N)
    "$bin/ota-conformance" --quiet "$@" --junit "$work/$label.xml" >"$work/$label.log" 2>&1
    end=$(date +%s.%N)
    grep -q '^PASSED' "$work/$label.log" || echo "note: $label: $(tail -1 "$work/$label.log")" >&2
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

a=$(free_pair)
b=$(free_pair)
start_board a "$a"
start_board b "$b"
echo "{ \"boards\": [ $(board_entry a "$a") ] }" >"$work/one.json"
echo "{ \"boards\": [ $(board_entry a "$a"), $(board_entry b "$b") ] }" >"$work/two.json"
echo "machine: $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
one=$(run one --lab "$work/one.json")
two=$(run two --lab "$work/two.json")
longest=$(grep -o '<testcase [^>]*time="[0-9.]*"' "$work/one.xml" | sed 's/.*time="\([0-9.]*\)"/\1/' | sort -g | tail -1)
n=$(grep -c '<testcase ' "$work/two.xml")
echo "catalogue: $n tests; the longest $longest s"
awk -v o="$one" -v t="$two" -v m="$longest" 'BEGIN {
    b = o / 2; if (m > b) b = m
    printf "one board:  %8.2f s wall\n", o
    printf "two boards: %8.2f s wall = %.0f %% of one board (target <= 60 %%; bound %.2f s = %.0f %%)\n",
        t, t / o * 100, b, b / o * 100 }'
for x in a b; do
    echo "board $x ran $(grep -c "name=\"board\" value=\"$x\"" "$work/two.xml") tests"
done
