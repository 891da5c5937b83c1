#!/bin/sh
# The lab engines' files do what they say, as tests/templates.sh checks the CI
# templates: the LAVA test definition (ci/templates/lava-ota.yaml, its `run`
# steps as tests/ci_template.py extracts them) and the labgrid example
# (examples/labgrid/ota-lab.sh, run as it is) test a board behind Debian's
# ser2net over rfc2217://, from the staged package. The board is
# ota-pty-board playing the reference device. LAVA's lava-test-case and
# labgrid-client are not installed here: small stand-ins record their calls
# (labgrid's "power cycle" cuts the board's power: its device is killed and
# ota-pty-board boots it again). The exporter and environment files must
# name the place and resources the script and profile use. An
# `ota-conformance` in front on PATH narrows every run to one test.
# usage: lab_templates.sh STAGE_ROOT SOURCE_DIR
set -eu
stage=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
bin=$stage/usr/bin
share=$stage/usr/share/ota-conformance
extract="python3 $src/tests/ci_template.py"
work=$(mktemp -d /tmp/ota-lab-templates-XXXXXX)
board_pid=""
s2n_pid=""
fail() {
    echo "FAIL: $*"
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    exit 1
}
cleanup() {
    for p in $s2n_pid $board_pid; do
        kill "$p" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
command -v ser2net >/dev/null || fail "ser2net is not installed (./ci/install-deps installs it)"

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() { # a port and the next one free, below the ephemeral ports
    while :; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
        listening "$p" || listening $((p + 1)) || { echo "$p"; return; }
    done
}

mkdir -p "$work/shim"
cat >"$work/shim/ota-conformance" <<SHIM
#!/bin/sh
case " \$* " in *" --version "* | *" --help "*) exec "$bin/ota-conformance" "\$@" ;; esac
exec "$bin/ota-conformance" "\$@" --only version_reported_at_boot
SHIM
# LAVA's helper: runs the command and prints LAVA's signal with the result.
cat >"$work/shim/lava-test-case" <<'SHIM'
#!/bin/sh
name=$1
shift
[ "$1" = "--shell" ] || { echo "lava-test-case: only --shell here" >&2; exit 2; }
shift
if "$@"; then r=pass; else r=fail; fi
echo "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$name RESULT=$r>"
SHIM
# labgrid's client: records the call; a power cycle kills the board's device (a power cut).
cat >"$work/shim/labgrid-client" <<SHIM
#!/bin/sh
echo "\$*" >>"$work/labgrid-calls.txt"
case " \$* " in *" power cycle "*) pkill -9 -P "\$(cat "$work/board.pid")" ;; esac
exit 0
SHIM
chmod +x "$work/shim/"*
version=$("$bin/ota-conformance" --version | awk '{print $2}')

mqtt=$(free_port)
port=$(free_port)
mkdir -p "$work/state"
"$bin/ota-pty-board" --link "$work/ttyBOARD" -- "$bin/ota-ref-device" --host 127.0.0.1 \
    --port "$mqtt" --product-key a1RefProd01 --device-name ref-device-01 \
    --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
    --state-dir "$work/state" 2>"$work/board.log" &
board_pid=$!
echo "$board_pid" >"$work/board.pid"
for _ in $(seq 1 100); do [ -e "$work/ttyBOARD" ] && break; sleep 0.05; done
printf '%%YAML 1.1\n---\nconnection: &board\n  accepter: telnet(rfc2217),tcp,127.0.0.1,%s\n  connector: serialdev,%s,115200n81,local\n  options:\n    kickolduser: true\n' \
    "$port" "$work/ttyBOARD" >"$work/ser2net.yaml"
ser2net -n -c "$work/ser2net.yaml" -P "$work/ser2net.pid" >"$work/ser2net.log" 2>&1 &
s2n_pid=$!
for _ in $(seq 1 100); do listening "$port" && break; sleep 0.05; done
listening "$port" || fail "ser2net did not listen on $port"

# check_outputs DIR NAME JUNIT OTHER...: the run passed its one test and wrote what it publishes.
check_outputs() {
    dir=$1 name=$2
    shift 2
    grep -q '^PASS .*version_reported_at_boot' "$dir/out.txt" ||
        fail "$name ran no test: $(cat "$dir/out.txt")"
    for a in "$@"; do [ -s "$dir/$a" ] || fail "$name publishes $a, which it did not write"; done
    xmllint --noout --schema "$share/schemas/junit.xsd" "$dir/$1" 2>/dev/null ||
        fail "$name: $1 does not validate against the JUnit schema"
    echo "$name: passed"
}

# LAVA: the run steps with the params set to this board.
t=$src/ci/templates/lava-ota.yaml
grep -q "OTA_CONFORMANCE_VERSION: \"$version\"" "$t" || fail "lava-ota.yaml pins another version than $version"
$extract "$t" run install | grep -q 'apt-get install -y \./ota-conformance\.deb' ||
    fail "lava-ota.yaml does not install the package"
mkdir -p "$work/lava"
$extract "$t" run commands >"$work/lava/job.sh"
sed -e "s|/tmp/ota-ttyREF|rfc2217://127.0.0.1:$port|" -e "s|18830|$mqtt|" -e "s|18080|$((mqtt + 1))|" \
    "$share/devices/ref-serial.json" >"$work/board.json"
(cd "$work/lava" && PATH="$work/shim:$bin:$PATH" BOARD_PROFILE="$work/board.json" \
    BOARD_PORT="rfc2217://127.0.0.1:$port" timeout 120 sh -e job.sh >out.txt 2>&1) ||
    { cat "$work/lava/out.txt"; fail "the LAVA steps failed"; }
grep -q 'TEST_CASE_ID=ota-conformance RESULT=pass' "$work/lava/out.txt" ||
    fail "LAVA would not record a pass: $(cat "$work/lava/out.txt")"
# shellcheck disable=SC2046
check_outputs "$work/lava" "lava-ota.yaml run" $($extract "$t" run artifacts)

# labgrid: the example's profile with this board's identity and endpoints; its reset is kept.
ex=$src/examples/labgrid
python3 - "$ex/esp32-lab.json" "$work/lab-board.json" "$mqtt" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p.update(productKey="a1RefProd01", deviceName="ref-device-01",
         deviceSecret="0123456789abcdef0123456789abcdef", firmwareVersion="1.0.0")
p["endpoints"] = {"listen": "127.0.0.1", "mqttPort": int(sys.argv[3]),
                  "httpPort": int(sys.argv[3]) + 1, "urlHost": "127.0.0.1", "urlPort": True}
json.dump(p, open(sys.argv[2], "w"))
PY
place=$(sed -n 's/^place=\${LG_PLACE:-\([^}]*\)}.*/\1/p' "$ex/ota-lab.sh")
[ -n "$place" ] || fail "ota-lab.sh names no place"
grep -q "^$place:" "$ex/exporter.yaml" || fail "exporter.yaml exports no group $place"
grep -q 'USBSerialPort:' "$ex/exporter.yaml" || fail "exporter.yaml exports no USB serial port"
grep -q 'NetworkPowerPort:' "$ex/exporter.yaml" || fail "exporter.yaml exports no power switch"
grep -q "name: $place " "$ex/env.yaml" || fail "env.yaml does not use the place $place"
grep -q "\"labgrid-client -p $place power cycle\"" "$ex/esp32-lab.json" ||
    fail "esp32-lab.json does not power-cycle the place $place"
grep -q '"port": "rfc2217://' "$ex/esp32-lab.json" || fail "esp32-lab.json names no rfc2217:// port"
mkdir -p "$work/labgrid"
(cd "$work/labgrid" && PATH="$work/shim:$bin:$PATH" OTA_BOARD_PORT="rfc2217://127.0.0.1:$port" \
    OTA_BOARD_PROFILE="$work/lab-board.json" timeout 120 sh "$ex/ota-lab.sh" >out.txt 2>&1) ||
    { cat "$work/labgrid/out.txt"; fail "examples/labgrid/ota-lab.sh failed"; }
check_outputs "$work/labgrid" "examples/labgrid/ota-lab.sh" out/junit.xml out/report.html out/trace.jsonl
for call in "acquire" "power on" "power cycle" "release"; do
    grep -qx -- "-p $place $call" "$work/labgrid-calls.txt" ||
        fail "ota-lab.sh made no 'labgrid-client -p $place $call': $(cat "$work/labgrid-calls.txt")"
done
echo "lab templates: LAVA and labgrid ran the board behind ser2net"
