#!/bin/sh
# Makes a program's man page at build time: the NAME line and the sections of
# man/NAME.extra (roff) around the program's own --help, so the options in the
# page are always the ones the program takes. The --help part that names this
# build's paths ("This copy looks for") is left out.
# usage: mkman.sh BINARY NAME VERSION EXTRA OUT.1.gz
set -eu
bin=$1 name=$2 version=$3 extra=$4 out=$5
summary=$(sed -n 1p "$extra")
mkdir -p "$(dirname "$out")"
tmp=$out.tmp
{
    printf '.TH %s 1 "" "ota-conformance %s" "User Commands"\n' \
        "$(echo "$name" | tr 'a-z' 'A-Z')" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    printf '.SH OPTIONS\n.nf\n'
    # roff: a backslash is \e; a line starting with . or ' is text, not a request.
    ASAN_OPTIONS=detect_leaks=0 "$bin" --help | sed -e '/^This copy looks for/,$d' \
        -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n'
    sed 1d "$extra"
} >"$tmp"
gzip -9n <"$tmp" >"$out"
rm -f "$tmp"
