#!/usr/bin/env bash
# Benchmark the controller against silent clients (issue #10): 1,000 connections that open and
# send nothing, spread over 20 loopback addresses (50 each, under the per-peer cap). Prints:
#  1. query latency (p50, p99 of GET /v1/query on a keep-alive connection) with no idle
#     connections — the baseline — and with the 1,000 silent connections held open;
#  2. when the controller closed them, against the configured header timeout;
#  3. the controller's RSS before and with them.
#
# Usage: bench/slow_clients_bench.sh [-n CONNECTIONS] [-t HEADER_TIMEOUT_S] [-b BUILD_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$HERE/scripts/lib.sh"
need_tools cmake ninja python3 awk
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
N=1000
TIMEOUT=5
BUILD="$HERE/build/release"
while getopts "n:t:b:h" opt; do
    case "$opt" in
        n) N="$OPTARG" ;;
        t) TIMEOUT="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,10p' "$0"; exit 2 ;;
    esac
done
if [ ! -x "$BUILD/patch_controller/patch-controller" ]; then
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target patch-controller >/dev/null
CTL="$BUILD/patch_controller/patch-controller"
ENV_DIR="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$ENV_DIR"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"   # one descriptor per silent connection, on both sides

mkdir -p "$ENV_DIR"/{feed/rel-22.12/Packages,trust,state,repo}
cp "$SHARED"/fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm "$ENV_DIR/feed/rel-22.12/Packages/"
cp "$SHARED/fixtures/keys/fixture-signing-cert.pem" "$ENV_DIR/trust/"
cat >"$ENV_DIR/controller.conf" <<CONF
[controller]
state_dir = $ENV_DIR/state
repo_dir = $ENV_DIR/repo
feed_dir = $ENV_DIR/feed
trust_dir = $ENV_DIR/trust
running_release = 22.12
listen_port = 0
tokens_file = $ENV_DIR/tokens
local_token_file = $ENV_DIR/admin.token
import_roots = $SHARED/fixtures/stx
header_timeout_seconds = $TIMEOUT
CONF
"$CTL" --config "$ENV_DIR/controller.conf" >"$ENV_DIR/controller.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$ENV_DIR/state/api.port" ] && break; sleep 0.1; done
PORT="$(cat "$ENV_DIR/state/api.port")"

python3 - "$PORT" "$(cat "$ENV_DIR/admin.token")" "$N" "$TIMEOUT" "$PID" "$SHARED/fixtures/stx" <<'PY'
import http.client, json, select, socket, statistics, sys, time
port, token, n, timeout, pid, stx = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
headers = {"Authorization": "Bearer " + token, "X-Patching-Client": "bench"}

def rss_mib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0

def query_latencies(count=300):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(count):
        t = time.perf_counter()
        conn.request("GET", "/v1/query", headers=headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.99) - 1]

c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/v1/upload_dir?dir0=" + stx, headers=headers)
assert c.getresponse().status == 200
c.close()

query_latencies(50)  # warm up
base_p50, base_p99 = query_latencies()
base_rss = rss_mib()

socks = []
opened = time.monotonic()
for i in range(n):
    s = socket.socket()
    s.bind((f"127.0.0.{2 + i % 20}", 0))  # 20 peers of n/20 connections each
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    socks.append(s)
time.sleep(min(2.0, timeout / 3))  # let the accepts settle: the figure is about holding them
held_p50, held_p99 = query_latencies()
held_rss = rss_mib()

closed_at = {}
poller = select.poll()
by_fd = {s.fileno(): s for s in socks}
for fd in by_fd:
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
deadline = opened + timeout * 3
while len(closed_at) < n and time.monotonic() < deadline:
    for fd, _ in poller.poll(100):
        if fd in closed_at:
            continue
        try:
            data = by_fd[fd].recv(1)
        except (BlockingIOError, ConnectionResetError):
            data = b""
        if data == b"":
            closed_at[fd] = time.monotonic() - opened
            poller.unregister(fd)
for s in socks:
    s.close()
after_p50, after_p99 = query_latencies()  # the baseline again: how noisy the figure is
last = max(closed_at.values()) if closed_at else float("nan")
first = min(closed_at.values()) if closed_at else float("nan")

print(f"{'figure':<44} {'measured':>12} {'baseline':>12}")
print(f"{'query latency p50 (ms)':<44} {held_p50:>12.2f} {base_p50:>12.2f}   (baseline: no idle connections)")
print(f"{'query latency p99 (ms)':<44} {held_p99:>12.2f} {base_p99:>12.2f}")
print(f"{'  baseline again after they closed, p50 / p99':<44} {after_p50:>5.2f} / {after_p99:<5.2f}")
print(f"{'controller RSS (MiB)':<44} {held_rss:>12.1f} {base_rss:>12.1f}")
print(f"{'silent connections closed':<44} {len(closed_at):>12d} {n:>12d}   (baseline: all opened)")
print(f"{'first / last closed after (s)':<44} {first:>5.2f} / {last:<5.2f} {timeout:>12.2f}   (baseline: header timeout)")
ok = len(closed_at) == n and last < timeout + 2
print("OK" if ok else "NOT OK: silent connections outlived the header timeout")
sys.exit(0 if ok else 1)
PY
