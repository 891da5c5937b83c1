#!/bin/sh
# Makes a program's man page at build time: the NAME line, the DESCRIPTION of
# man/NAME.extra (roff), the program's own --help as OPTIONS (so the options in
# the page are always the ones the program takes), then the other sections of
# NAME.extra. The --help part that names this build's paths ("This copy looks
# for") is left out, and the documents --help names in the source tree
# (docs/judging.md) are named where the package installs them.
# usage: mkman.sh BINARY NAME VERSION EXTRA OUT.1.gz
set -eu
bin=$1 name=$2 version=$3 extra=$4 out=$5
docdir=/usr/share/doc/ota-conformance
summary=$(sed -n 1p "$extra")
mkdir -p "$(dirname "$out")"
tmp=$out.tmp
# The extra's sections: DESCRIPTION (up to the next .SH), and all the others.
description() { sed -n '/^\.SH DESCRIPTION/,$p' "$extra" | sed '1!{/^\.SH /,$d}'; }
others() { sed 1d "$extra" | sed '/^\.SH DESCRIPTION/,/^\.SH /{/^\.SH DESCRIPTION/d;/^\.SH /!d}'; }
{
    printf '.TH %s 1 "" "ota-conformance %s" "User Commands"\n' \
        "$(echo "$name" | tr 'a-z' 'A-Z')" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    description
    printf '.SH OPTIONS\n.nf\n'
    # roff: a backslash is \e; a line starting with . or ' is text, not a request.
    ASAN_OPTIONS=detect_leaks=0 "$bin" --help | sed -e '/^This copy looks for/,$d' \
        -e "s|\\(docs/\\)\\{0,1\\}\\([a-z][a-z-]*\\.md\\)|$docdir/\\2|g" \
        -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n'
    others
} >"$tmp"
gzip -9n <"$tmp" >"$out"
rm -f "$tmp"
