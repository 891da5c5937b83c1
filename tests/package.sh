#!/bin/sh
# The Debian package as a user gets it: cpack builds it from this build folder,
# its file list and Depends are checked (every library the programs link comes
# from a package it depends on; no certificate or key is shipped), it is
# unpacked into a staging root with dpkg -x (no root needed), and the programs
# run from there against the packaged reference device, finding their data
# next to themselves, never in the source tree. The staging root is left in
# BUILD/package/stage for the template and example tests.
# usage: package.sh BUILD_DIR SANITIZED(0|1)
set -eu
build=$(cd "$1" && pwd)
sanitized=$2
pkgdir=$build/package
stage=$pkgdir/stage
fail() { echo "FAIL: $*"; exit 1; }

rm -rf "$pkgdir"
mkdir -p "$pkgdir"
(cd "$build" && cpack -G DEB -B "$pkgdir" >"$pkgdir/cpack.log" 2>&1) ||
    { cat "$pkgdir/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$pkgdir"/ota-conformance_*.deb)
arch=$(dpkg --print-architecture)
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "")
echo "package: $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Package)" = ota-conformance ] || fail "Package is not ota-conformance"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture is not $arch"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"

# The file list: what a user needs is there, nothing of the build is.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$pkgdir/files.txt"
for f in /usr/bin/ota-conformance /usr/bin/ota-mock-cloud /usr/bin/ota-ref-device \
    /usr/bin/ota-report /usr/bin/ota-pty-board /usr/bin/ota-fleet /usr/bin/ota-image \
    /usr/share/man/man1/ota-image.1.gz /usr/share/ota-conformance/devices/ref-image-check.json \
    "/usr/lib/${multiarch:+$multiarch/}ota-conformance/otaauth.so" \
    /usr/share/ota-conformance/devices/ref-device.json \
    /usr/share/ota-conformance/scenarios/http-status-404.json \
    /usr/share/ota-conformance/schemas/junit.xsd /usr/share/ota-conformance/make-certs.sh \
    /usr/share/man/man1/ota-conformance.1.gz /usr/share/man/man1/ota-mock-cloud.1.gz \
    /usr/share/doc/ota-conformance/CHANGELOG.md \
    /usr/share/doc/ota-conformance/templates/github-actions.yml \
    /usr/share/doc/ota-conformance/examples/README.md \
    /usr/share/doc/ota-conformance/examples/host-ota/README.md \
    /usr/include/otamock/mock.h /usr/include/otaproto/version.h \
    "/usr/lib/${multiarch:+$multiarch/}libotamock.a" \
    "/usr/lib/${multiarch:+$multiarch/}pkgconfig/libotamock.pc" \
    "/usr/lib/${multiarch:+$multiarch/}cmake/OtaConformance/OtaConformanceConfig.cmake"; do
    grep -qx "$f" "$pkgdir/files.txt" || fail "the package lacks $f"
done
if grep -E '\.(pem|key)$|^/usr/bin/test_|/certs/|^/usr/local|^/(etc|opt|home|tmp)/' "$pkgdir/files.txt"; then
    fail "the package ships the files above (certificates, test programs or paths outside /usr)"
fi

rm -rf "$stage"
dpkg -x "$deb" "$stage"

# Man pages: DESCRIPTION before OPTIONS, and the documents they name where the package puts them.
for page in "$stage"/usr/share/man/man1/*.1.gz; do
    sections=$(zcat "$page" | sed -n 's/^\.SH //p' | tr '\n' ' ')
    case "$sections" in "NAME DESCRIPTION OPTIONS "*) ;; *) fail "$page: sections $sections" ;; esac
    if zcat "$page" | grep -E '(^|[^/a-z])(docs/)?[a-z-]+\.md' | grep -v '/usr/share/doc/ota'; then
        fail "$page names a document by its place in the source tree (above)"
    fi
done

# Depends: the package of every library the programs and the plugin link directly
# (one dpkg -S for all of them: it reads the whole database each time).
: >"$pkgdir/libs.txt"
for elf in "$stage"/usr/bin/* "$stage"/usr/lib/*/ota-conformance/otaauth.so \
    "$stage"/usr/lib/ota-conformance/otaauth.so; do
    [ -f "$elf" ] || continue
    ldd "$elf" >"$pkgdir/ldd.txt"
    for so in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        # "libx.so.1 => /path (…)", or the dynamic loader's "/path/ld-….so.2 (…)"
        path=$(awk -v so="$so" '$1 == so {print $3} $1 ~ ("/" so "$") {print $1}' "$pkgdir/ldd.txt")
        [ -n "$path" ] || fail "$elf needs $so, which is not found"
        echo "$path" >>"$pkgdir/libs.txt"
    done
done
# merged /usr: dpkg knows a library under /lib or /usr/lib, whichever its package says.
sort -u "$pkgdir/libs.txt" | sed 's|^/usr/|/|' | sed 'p; s|^|/usr|' >"$pkgdir/candidates.txt"
dpkg -S $(cat "$pkgdir/candidates.txt") >"$pkgdir/owners.txt" 2>/dev/null || true
needed=""
for path in $(sort -u "$pkgdir/libs.txt"); do
    short=${path#/usr}
    owner=$(grep -E ": (/usr)?$short\$" "$pkgdir/owners.txt" | head -1)
    [ -n "$owner" ] || fail "no package owns $path"
    needed="$needed ${owner%%:*}"
done
for p in $(echo "$needed" | tr ' ' '\n' | sort -u); do
    case "$p" in
    libasan* | libubsan*) [ "$sanitized" = 1 ] && continue ;;
    esac
    echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$p" ||
        fail "the programs link a library of $p, which Depends does not name"
done
for p in mosquitto openssl; do
    echo "$depends" | grep -qE "(^|, )$p( |,|$)" || fail "Depends lacks $p (run-time program)"
done

# The staged copy finds everything next to itself.
bin=$stage/usr/bin
"$bin/ota-conformance" --version | grep -qx "ota-conformance $(dpkg-deb -f "$deb" Version)" ||
    fail "ota-conformance --version does not say the package's version"
for p in ota-mock-cloud ota-ref-device ota-report ota-pty-board ota-fleet ota-image; do
    "$bin/$p" --version | grep -q "^$p " || fail "$p --version"
done
# ota-fleet starts the ota-mock-cloud next to it, which finds its plugin and fixtures.
"$bin/ota-fleet" --devices 5 --quiet >"$pkgdir/fleet.txt" 2>&1 ||
    fail "the staged ota-fleet: $(cat "$pkgdir/fleet.txt")"
help=$("$bin/ota-conformance" --help)
echo "$help" | grep -q "fixtures  *$stage/usr/share/ota-conformance (installed)" ||
    fail "the staged copy does not use its own fixtures: $help"
echo "$help" | grep -q "broker plugin  *$stage/usr/lib/.*ota-conformance/otaauth.so" ||
    fail "the staged copy does not use its own plugin: $help"

work=$(mktemp -d /tmp/ota-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# First use with --tls makes the certificates in the per-user cache.
XDG_CACHE_HOME=$work/cache timeout 120 "$bin/ota-conformance" --tls \
    --only version_reported_at_boot --junit junit.xml >out.txt 2>&1 ||
    { cat out.txt; fail "the installed suite over TLS failed"; }
grep -q "making the test certificates in $work/cache/ota-conformance/certs" out.txt ||
    fail "no certificates made on first use: $(cat out.txt)"
[ -f "$work/cache/ota-conformance/certs/ca.pem" ] || fail "no ca.pem in the per-user cache"
timeout 120 "$bin/ota-conformance" --only live_push_starts_upgrade --trace trace.jsonl \
    >out.txt 2>&1 || { cat out.txt; fail "the installed suite failed"; }
grep -q '^PASS .*live_push_starts_upgrade' out.txt || fail "no PASS line: $(cat out.txt)"
"$bin/ota-report" --trace trace.jsonl --html report.html || fail "ota-report from the stage"
echo "package: $(wc -l <"$pkgdir/files.txt") files, installed copy passed"
