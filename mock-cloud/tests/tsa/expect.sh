#!/bin/sh
# The tsa build's check is real: lock_misuse.c compiles as it is, and each
# mistake put in with -DBREAK_* fails to compile with the diagnostic expected.
# And no source takes a cloud lock with a bare mc_mutex_lock, which would
# skip the order's EXCLUDES lists (only the taking functions may).
# usage: expect.sh CC SOURCE_DIR GENERATED_INCLUDE
set -u
cc=$1 src=$2 gen=$3
file=$src/mock-cloud/tests/tsa/lock_misuse.c
flags="-std=c11 -D_GNU_SOURCE -fsyntax-only -Wthread-safety -Werror -I$src/mock-cloud/src
  -I$src/mock-cloud/include -I$src/protocol/include -I$gen"
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
rc=0
# shellcheck disable=SC2086 # flags are words
if ! $cc $flags "$file" >"$out" 2>&1; then
    cat "$out"
    echo "FAIL: lock_misuse.c without a mistake does not compile"
    rc=1
fi
check() { # MACRO TEXT: the diagnostic the mistake must give
    # shellcheck disable=SC2086
    if $cc $flags -D"$1" "$file" >"$out" 2>&1; then
        echo "FAIL: $1: compiled, the mistake went unnoticed"
        rc=1
    elif grep -q -- "$2" "$out"; then
        echo "ok: $1: $(grep -m1 -- "$2" "$out" | sed 's/.*error: //')"
    else
        cat "$out"
        echo "FAIL: $1: failed without the expected \"$2\""
        rc=1
    fi
}
check BREAK_ORDER "cannot call function 'mc_cloud_lock' while mutex 'c->tlock' is held"
check BREAK_FLUSH "cannot call function 'mc_trace_flush' while mutex 'c->lock' is held"
check BREAK_LEAF "cannot call function 'mc_trace_add' while mutex 'c->rlock' is held"
check BREAK_REQUIRES "calling function 'mc_job_find' requires holding mutex 'c->lock' exclusively"
bare=$(grep -n 'mc_mutex_lock(' "$src"/mock-cloud/src/*.c "$src"/mock-cloud/daemon/*.c |
    grep -v -e '/lock\.c:' -e '/cloud\.c:.*mc_mutex_lock(&c->lock);')
if [ -n "$bare" ]; then
    echo "$bare"
    echo "FAIL: a lock taken with mc_mutex_lock: use mc_cloud_lock, mc_trace_lock, mc_tfile_lock or mc_leaf_lock"
    rc=1
else
    echo "ok: every cloud lock is taken through its function"
fi
exit "$rc"
