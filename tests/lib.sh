# Sourced by the project's shell tests (bash): one temporary folder, the
# processes a test starts, and how a test fails.
#   . "$(dirname "$0")/../../tests/lib.sh"; ota_test_work NAME
# gives $work (/tmp/ota-NAME-XXXXXX); at exit every pid in $pids (and its
# children) and the board in $board are stopped and $work is removed, or
# kept and named with OTA_KEEP_WORK set.
pids=()
board=""

ota_test_work() {
    work=$(mktemp -d "/tmp/ota-$1-XXXXXX")
    trap ota_test_cleanup EXIT
}

ota_test_cleanup() {
    stop_board
    for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${OTA_KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}

# Every wait here is bounded: a board that does not stop on SIGTERM gets SIGKILL.
stop_board() {
    [ -n "$board" ] || return 0
    kill "$board" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$board" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$board" 2>/dev/null
    wait "$board" 2>/dev/null
    board=""
}

# The message, then the last lines of every log in $work; exit 1.
fail() {
    echo "FAIL: $*"
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -25 "$f"; }; done
    exit 1
}
