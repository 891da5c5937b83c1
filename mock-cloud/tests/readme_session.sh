#!/usr/bin/env bash
# README's hand session ("Testing a board by hand"), pasted as it is into a
# shell against a running ota-mock-cloud: every command runs, and what comes
# back is what the README shows under it as comments (clock-made values aside:
# Expires, Signature, the push's id, the background job's pid; the push and
# the API's answer race, so lines are compared in any order). The README's
# ports are replaced by free ones.
# usage: readme_session.sh BIN_DIR
set -u
bin=$1
readme=$(cd "$(dirname "$0")/../.." && pwd)/README.md
work=$(mktemp -d /tmp/ota-readme-XXXXXX)
dpid=
trap '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [ -f "$work/cloud.log" ] && tail -20 "$work/cloud.log"; exit 1; }

# The block after "paste the block as it is", up to its closing fence.
awk '/paste the block as it is/ {on = 1} on && /^```sh$/ {take = 1; next}
     take && /^```$/ {exit} take' "$readme" >"$work/block.txt"
[ -s "$work/block.txt" ] || fail "README has no session block to paste"
grep -q '…' "$work/block.txt" && grep -v '^#' "$work/block.txt" | grep -q '…' &&
    fail "a command of the session holds a literal …"

for _ in 1 2 3 4 5; do
    m=$((20000 + RANDOM % 4000)) h=$((24000 + RANDOM % 4000)) a=$((28000 + RANDOM % 4000)) # below the ephemeral ports (32768-)
    "$bin/ota-mock-cloud" --mqtt-port "$m" --http-port "$h" --api-port "$a" >"$work/cloud.log" 2>&1 &
    dpid=$!
    for _ in $(seq 1 100); do
        grep -q '^  device ref-device-01 ' "$work/cloud.log" && break 2
        kill -0 "$dpid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$dpid" 2>/dev/null
    wait "$dpid" 2>/dev/null
    dpid=
done
[ -n "$dpid" ] || fail "ota-mock-cloud did not start"
# The login the README copies from the banner is the one the daemon prints.
grep -qF "clientId '$(sed -n 's/^CID="\$PK.\$DN\(.*\)"$/a1RefProd01.ref-device-01\1/p' "$work/block.txt")' username 'ref-device-01&a1RefProd01' password $(sed -n 's/^PW=//p' "$work/block.txt")" "$work/cloud.log" ||
    fail "the README's login is not the one the daemon prints"

sed -e "s/18830/$m/g" -e "s/18080/$h/g" -e "s/18081/$a/g" "$work/block.txt" >"$work/paste.sh"
# Pasted into an interactive shell: commands from stdin, prompts and job numbers on stderr.
(cd "$work" && timeout 60 bash --norc -i <paste.sh >out.txt 2>err.txt)
# What came, and what the README says comes, both with the clock's values and ports made equal.
norm() {
    sed -e 's/Expires=[0-9]*/Expires=E/g' -e 's/Signature=[0-9a-f]*/Signature=S/g' \
        -e 's/"id":[0-9]\{10,\}/"id":N/' -e "s/:$h\\//:18080\\//g" -e '/^\[1\] [0-9]*$/d' \
        -e '/^[[:space:]]*$/d' | sort
}
norm <"$work/out.txt" >"$work/got.txt"
# Replies are the comment lines; a comment that explains ends with a full stop.
grep '^# ' "$work/block.txt" | sed 's/^# //' | grep -v '\.$' | norm >"$work/want.txt"
diff "$work/want.txt" "$work/got.txt" >"$work/diff.txt" ||
    fail "the session's replies differ from the README's (< README, > now): $(cat "$work/diff.txt")"
grep -q 'job 1 UPGRADING -> SUCCEEDED' "$work/cloud.log" || fail "the job did not succeed"
echo "README session: pasted, $(wc -l <"$work/got.txt") lines of replies as shown"
