#!/usr/bin/env bash
# Benchmark, not a test: ota-fleet upgrading 1,000 and 10,000 simulated
# devices at once with a 64 KiB image, by HTTP and by MQTT blocks (64 KiB a
# request), each against its own fresh ota-mock-cloud. The baseline, measured
# in the same run, is one device alone. Prints per run: the upgrade's wall
# time (first job to last verdict), the logins' time, the peak memory (VmHWM)
# of the cloud, its broker and the fleet, and CPU seconds per device of each;
# as a Markdown table for bench/RESULTS.md. Judges nothing (exit 0 unless a
# run could not start). Niced: it keeps both cores busy for about a minute at
# 10,000 devices.
#
# usage: bench/fleet.sh [--counts "1000 10000"] [--transports "mqtt http"] [--size BYTES]
#                       [--no-build]
set -u
cd "$(dirname "$0")/.."
counts="1000 10000"
transports="mqtt http"
size=65536
build=1
while [ $# -gt 0 ]; do
    case $1 in
    --counts) counts=$2; shift 2 ;;
    --transports) transports=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: bench/fleet.sh [--counts \"1000 10000\"] [--transports \"mqtt http\"] [--size BYTES] [--no-build]" >&2
       exit 2 ;;
    esac
done
. bench/lib.sh
bench_setup fleet "$build" ota-mock-cloud ota-fleet otaauth.so

# num FILE KEY: a number of ota-fleet's --json.
num() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\([-0-9.e+]*\),\{0,1\}$/\1/p" "$1"; }

echo "# bench/fleet.sh on $(nproc) cores, $(date -u +%Y-%m-%d), $(uname -sr)"
echo "| transport | devices | done | upgrade s | login s | cloud MiB | broker MiB | fleet MiB | CPU ms/device cloud | broker | fleet |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in $transports; do
    for n in 1 $counts; do
        out=$work/$t-$n.json
        nice -n 10 "$bin/ota-fleet" --devices "$n" --transport "$t" --size "$size" \
            --block-size 65536 --quiet --json "$out" >"$work/$t-$n.log" 2>&1
        rc=$?
        if [ ! -s "$out" ]; then
            echo "fleet.sh: $t $n devices did not run (exit $rc):" >&2
            tail -5 "$work/$t-$n.log" >&2
            exit 3
        fi
        awk -v t="$t" -v n="$n" -v done="$(num "$out" done)" -v up="$(num "$out" upgradeSeconds)" \
            -v lo="$(num "$out" connectSeconds)" -v ck="$(num "$out" cloudPeakKiB)" \
            -v bk="$(num "$out" brokerPeakKiB)" -v fk="$(num "$out" fleetPeakKiB)" \
            -v cc="$(num "$out" cloudCpuSeconds)" -v bc="$(num "$out" brokerCpuSeconds)" \
            -v fc="$(num "$out" fleetCpuSeconds)" 'BEGIN {
                printf "| %s%s | %d | %d | %.2f | %.2f | %.1f | %.1f | %.1f | %.3f | %.3f | %.3f |\n",
                    t, n == 1 ? " (baseline: one device)" : "", n, done, up, lo, ck / 1024,
                    bk / 1024, fk / 1024, cc * 1000 / n, bc * 1000 / n, fc * 1000 / n }'
    done
done
