# Sourced by the benchmarks of bench/ (bash), from the project root.
# bench_setup NAME BUILD PROGRAM...: builds the release preset when BUILD is
# 1; sets $bin and checks every PROGRAM is there (exit 3 if not); makes $work
# (/tmp/ota-bench-NAME-XXXXXX). At exit the bench's own background processes
# are stopped and $work is removed; an interrupt exits 130.
bench_setup() {
    local name=$1 build=$2 p
    shift 2
    if [ "$build" -eq 1 ]; then ./ci/build release || exit 3; fi
    bin=$PWD/build/release/bin
    for p in "$@"; do
        [ -e "$bin/$p" ] || { echo "$name.sh: $bin/$p is missing (build the release preset)" >&2; exit 3; }
    done
    work=$(mktemp -d "/tmp/ota-bench-$name-XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    pkill -P $$ 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
