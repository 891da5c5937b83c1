#!/usr/bin/env bash
# Benchmark, not a test: HTTP download of a 16,000,000-byte firmware image
# from ota-mock-cloud's file server against nginx serving the same bytes, to
# the same client (curl), measured in the same run, alternating. nginx is
# Debian's (installed when missing: nginx-light), started for this run only,
# unprivileged, on a loopback port chosen at run time, with its own config in
# a temporary folder. Prints the times and their ratio; judges nothing.
# bench/README.md.
#
# usage: bench/http.sh [--runs N] [--bytes N] [--no-build]
set -u
cd "$(dirname "$0")/.." || exit 2
runs=5
bytes=16000000
build=1
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: bench/http.sh [--runs N] [--bytes N] [--no-build]" >&2; exit 2 ;;
    esac
done
. bench/lib.sh
bench_setup http "$build" ota-mock-cloud
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "http.sh: installing nginx-light" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null || exit 3
    nginx=/usr/sbin/nginx
fi

chmod 755 "$work"
dpid=""
npid=""

"$bin/ota-mock-cloud" --quiet >"$work/cloud.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do
    api=$(sed -n 's/^  API    \(http:[^ ]*\).*/\1/p' "$work/cloud.log")
    [ -n "$api" ] && break
    sleep 0.05
done
[ -n "$api" ] || { echo "http.sh: ota-mock-cloud did not start:" >&2; cat "$work/cloud.log" >&2; exit 3; }
url=$(curl -sf -X POST "$api/jobs" \
    -d "{\"device\":\"ref-device-01\",\"version\":\"2.0.0\",\"size\":$bytes,\"transport\":\"http\"}" |
    sed -n 's/^\t"url":\t"\(.*\)",*$/\1/p')
[ -n "$url" ] || { echo "http.sh: POST /jobs gave no URL" >&2; exit 3; }

# nginx serves the very bytes the mock serves.
mkdir -p "$work/www" "$work/tmp"
curl -sf -o "$work/www/fw.bin" "$url" || { echo "http.sh: the mock's URL did not download" >&2; exit 3; }
[ "$(stat -c %s "$work/www/fw.bin")" -eq "$bytes" ] || { echo "http.sh: short download" >&2; exit 3; }

# Unprivileged: as root, nginx runs as nobody (master and worker); its files are in $work.
as=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody "$work/www" "$work/tmp"
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
start_nginx() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/tmp/nginx.pid;
error_log $work/tmp/error.log;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $work/www;
    }
}
EOF
    "${as[@]}" "$nginx" -p "$work/tmp" -c "$work/nginx.conf" -e "$work/tmp/error.log" 2>>"$work/nginx.log" &
    npid=$!
    for _ in $(seq 1 100); do
        if curl -sf -o /dev/null "http://127.0.0.1:$port/fw.bin"; then
            nurl=http://127.0.0.1:$port/fw.bin
            return 0
        fi
        kill -0 "$npid" 2>/dev/null || break
        sleep 0.05
    done
    kill "$npid" 2>/dev/null
    wait "$npid" 2>/dev/null
    npid=""
    return 1
}
nurl=""
for _ in 1 2 3; do start_nginx && break; done # the port may be taken between choice and bind
[ -n "$nurl" ] || { echo "http.sh: nginx did not start:" >&2; cat "$work/nginx.log" "$work/tmp/error.log" >&2 2>/dev/null; exit 3; }

get() { curl -sf -o /dev/null -w '%{time_total} %{size_download}' "$1"; }

echo "HTTP download of $bytes bytes by curl: ota-mock-cloud's file server against" \
    "$("$nginx" -v 2>&1 | sed 's/.*: //') (sendfile on, one worker); $runs runs of each, alternating."
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1);" \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
get "$url" >/dev/null # warm both (page cache, first connection)
get "$nurl" >/dev/null
tm=""
tn=""
for r in $(seq 1 "$runs"); do
    read -r m got <<<"$(get "$url")"
    [ "${got%.*}" -eq "$bytes" ] || { echo "http.sh: the mock sent ${got%.*} bytes" >&2; exit 1; }
    read -r n got <<<"$(get "$nurl")"
    [ "${got%.*}" -eq "$bytes" ] || { echo "http.sh: nginx sent ${got%.*} bytes" >&2; exit 1; }
    echo "  run $r: mock $m s, nginx $n s"
    tm="$tm $m"
    tn="$tn $n"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$bytes" "$tm" "$tn" <<'EOF'
import statistics, sys
n = int(sys.argv[1])
m = sorted(map(float, sys.argv[2].split()))
g = sorted(map(float, sys.argv[3].split()))
print()
print("%-22s %10s %10s %8s" % ("", "mock", "nginx", "ratio"))
for name, a, b in (("best (s)", m[0], g[0]), ("median (s)", statistics.median(m), statistics.median(g))):
    print("%-22s %10.4f %10.4f %8.2f" % (name, a, b, a / b))
print("%-22s %10.0f %10.0f" % ("best (MB/s)", n / m[0] / 1e6, n / g[0] / 1e6))
r = statistics.median(m) / statistics.median(g)
print("time ratio mock/nginx (median): %.2f, target <= 1.00: %s" % (r, "met" if r <= 1.0 else "not met"))
EOF
