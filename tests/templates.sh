#!/bin/sh
# The CI templates of ci/templates/ do what they say: every job's commands
# (tests/ci_template.py extracts them) run against the staged package, with the
# user's values (the "yours" lines) set to the reference device: the host
# firmware "build" links ota-ref-device, the board is ota-pty-board playing a
# board on a serial port. Install steps need root; they are only checked to
# install the package this build makes. Each job must leave the JUnit XML (valid
# against the schema), the HTML report and the trace where the template
# publishes them. An `ota-conformance` in front on PATH narrows every run to one
# test, to keep this short.
# usage: templates.sh STAGE_ROOT SOURCE_DIR
set -eu
stage=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
bin=$stage/usr/bin
share=$stage/usr/share/ota-conformance
extract="python3 $src/tests/ci_template.py"
fail() { echo "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/ota-templates-XXXXXX)
board_pid=""
stop_board() {
    [ -n "$board_pid" ] || return 0
    kill "$board_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$board_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$board_pid" 2>/dev/null || true
    board_pid=""
}
trap 'stop_board; rm -rf "$work"' EXIT

mkdir -p "$work/shim"
cat >"$work/shim/ota-conformance" <<SHIM
#!/bin/sh
case " \$* " in *" --version "* | *" --help "*) exec "$bin/ota-conformance" "\$@" ;; esac
exec "$bin/ota-conformance" "\$@" --only version_reported_at_boot
SHIM
chmod +x "$work/shim/ota-conformance"
version=$("$bin/ota-conformance" --version | awk '{print $2}')

# The host firmware "build": the reference device where the template expects the program.
printf 'mkdir -p build/host && ln -sf "%s/ota-ref-device" build/host/firmware\n' "$bin" \
    >"$work/build-firmware.sh"

# A board on a "serial port": the reference device with its settings compiled in,
# behind ota-pty-board; the profile names the port and the ports it was built for.
# make_board PORT: (re)writes both for the broker port PORT (HTTP on PORT+1).
make_board() {
    cat >"$work/flash.sh" <<FLASH
#!/bin/sh
mkdir -p "$work/board-state"
"$bin/ota-pty-board" --link "$work/ttyBOARD" -- "$bin/ota-ref-device" --host 127.0.0.1 \
    --port $1 --product-key a1RefProd01 --device-name ref-device-01 \
    --device-secret 0123456789abcdef0123456789abcdef --firmware-version 1.0.0 \
    --state-dir "$work/board-state" >"$work/board.log" 2>&1 &
echo \$! >"$work/board.pid"
for _ in \$(seq 1 100); do [ -e "$work/ttyBOARD" ] && exit 0; sleep 0.05; done
exit 1
FLASH
    sed -e "s|/tmp/ota-ttyREF|$work/ttyBOARD|" -e "s|18830|$1|" -e "s|18080|$(($1 + 1))|" \
        "$share/devices/ref-serial.json" >"$work/board.json"
}

# run_once DIR: the job's commands in DIR with the user's values set; the board stopped after.
run_once() {
    rc=0
    (cd "$1" && PATH="$work/shim:$bin:$PATH" \
        FIRMWARE_BUILD="sh $work/build-firmware.sh" \
        FIRMWARE=./build/host/firmware DEVICE_PROFILE="$share/devices/ref-device.json" \
        FLASH_BOARD="sh $work/flash.sh" BOARD_PROFILE="$work/board.json" \
        timeout 120 sh -e job.sh >"$1/out.txt" 2>&1) || rc=$?
    if [ -f "$work/board.pid" ]; then
        board_pid=$(cat "$work/board.pid")
        rm -f "$work/board.pid"
        stop_board
    fi
    return $rc
}

# run_job TEMPLATE JOB: the job's commands in a fresh checkout folder.
run_job() {
    t=$src/ci/templates/$1
    dir=$work/$(basename "$1" .yml)-$2
    mkdir -p "$dir"
    grep -q "OTA_CONFORMANCE_VERSION: \"$version\"" "$t" ||
        fail "$1 pins another version than $version"
    if $extract "$t" "$2" install >"$work/install.txt" 2>/dev/null; then
        grep -q 'apt-get install -y \./ota-conformance\.deb' "$work/install.txt" ||
            fail "$1 job $2 does not install the package"
    fi
    $extract "$t" "$2" commands >"$dir/job.sh" || fail "$1 job $2: no commands"
    # A board's fixed ports may be taken by something else on this machine: others, then.
    # Below the ephemeral ports (32768-), which a client's connection may take at any moment.
    for try in 1 2 3 4 5; do
        make_board $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
        run_once "$dir" && break
        grep -qE 'is taken|taken, or below|would not start' "$dir/out.txt" && [ "$try" -lt 5 ] ||
            { cat "$dir/out.txt"; fail "$1 job $2 failed"; }
    done
    grep -q '^PASS .*version_reported_at_boot' "$dir/out.txt" ||
        fail "$1 job $2 ran no test: $(cat "$dir/out.txt")"
    for a in $($extract "$t" "$2" artifacts); do
        [ -s "$dir/$a" ] || fail "$1 job $2 publishes $a, which it did not write"
    done
    junit=$($extract "$t" "$2" artifacts | head -1)
    xmllint --noout --schema "$share/schemas/junit.xsd" "$dir/$junit" 2>/dev/null ||
        fail "$1 job $2: $junit does not validate against the JUnit schema"
    echo "$1 job $2: passed"
}

run_job github-actions.yml host
run_job github-actions.yml board
run_job gitlab-ci.yml ota-conformance
run_job gitlab-ci.yml ota-conformance-board
