#!/bin/sh
# Every relative link of the project's Markdown files (README.md, docs/, examples/, bench/,
# ...) names a file or folder that exists, seen from the file that links it: a reader who
# follows one lands somewhere. Links to the web and to anchors are not followed.
# usage: doclinks.sh SOURCE_DIR
set -eu
cd "$1"
bad=0
for md in $(git ls-files '*.md' 2>/dev/null || find . -name '*.md' -not -path './build/*'); do
    dir=$(dirname "$md")
    # ](target) and ](target "title"); one link a line after the split.
    for target in $(grep -o '](\([^)# ]*\)' "$md" | sed 's/^](//'); do
        case "$target" in http:* | https:* | mailto:* | '') continue ;; esac
        if [ ! -e "$dir/$target" ]; then
            echo "$md: the link ($target) names nothing"
            bad=1
        fi
    done
done
[ "$bad" -eq 0 ] && echo "every relative link of the Markdown files resolves"
exit "$bad"
