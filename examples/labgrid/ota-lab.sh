#!/bin/sh
# The conformance run of a board in a labgrid lab: reserve the place, power
# the board, run ota-conformance on the port the exporter shares over RFC
# 2217, release the place. The values marked "yours" are set for your lab
# (or given in the environment). ota-conformance's own tests run this file
# against its reference device behind ser2net.
set -eu
place=${LG_PLACE:-esp32-a}                                          # yours
port=${OTA_BOARD_PORT:-rfc2217://lab1.example.net:4001}             # yours: labgrid-client -p esp32-a show
profile=${OTA_BOARD_PROFILE:-$(dirname "$0")/esp32-lab.json}        # yours
labgrid-client -p "$place" acquire
trap 'labgrid-client -p "$place" release' EXIT
labgrid-client -p "$place" power on
mkdir -p out
ota-conformance --device "$profile" --serial-port "$port" --junit out/junit.xml --html out/report.html --trace out/trace.jsonl
