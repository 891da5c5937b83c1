#!/bin/sh
# examples/host-ota, the CMocka test a firmware team writes against libotamock,
# built from a copy of the folder against the staged package, once through
# pkg-config (its Makefile) and once through find_package (its CMakeLists.txt),
# and run: the installed headers, libraries, .pc files and package config are
# what users get.
# usage: example.sh STAGE_ROOT SOURCE_DIR SANITIZED(0|1)
set -eu
stage=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
sanitized=$3
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d /tmp/ota-example-XXXXXX)
trap 'rm -rf "$work"' EXIT

# The staged libraries were built with the sanitizers in a sanitized build: link them too.
flags="-O1 -g -Wall -Wextra -Werror"
[ "$sanitized" = 1 ] && flags="$flags -fsanitize=address,undefined"
pcdir=$(ls -d "$stage"/usr/lib/*/pkgconfig "$stage"/usr/lib/pkgconfig 2>/dev/null | head -1)
[ -f "$pcdir/libotamock.pc" ] || fail "no libotamock.pc in the staged package"

cp -r "$src/examples/host-ota" "$work/pc"
PKG_CONFIG_PATH=$pcdir make -s -C "$work/pc" CFLAGS="$flags" LDFLAGS="$flags" test_my_ota \
    >"$work/make.txt" 2>&1 || { cat "$work/make.txt"; fail "the example does not build with pkg-config"; }
grep -q "$stage" "$work/make.txt" 2>/dev/null || true
(cd "$work/pc" && ./test_my_ota) || fail "the example's test failed (pkg-config build)"

cp -r "$src/examples/host-ota" "$work/cm"
{ cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$stage/usr" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" &&
    cmake --build "$work/cm/build"; } >"$work/cmake.txt" 2>&1 ||
    { cat "$work/cmake.txt"; fail "the example does not build with find_package"; }
"$work/cm/build/test_my_ota" >/dev/null || fail "the example's test failed (find_package build)"
echo "example: built with pkg-config and with find_package against $stage, passed"
