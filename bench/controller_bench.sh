#!/usr/bin/env bash
# Benchmark the controller (issue #3 targets):
#  1. `sw-patch upload` of the 524 MB patch of make-test-rpms.sh large, start to "is now available"
#     (target <= 2.5 s) and the controller's peak RSS growth meanwhile (target <= 64 MiB);
#  2. with 1,000 patches imported: `sw-patch query` (target <= 100 ms) and apply / remove of one
#     patch including the repository update (target <= 1 s each).
# Baselines printed beside: copying the same bytes over loopback with curl into a file, and a
# full createrepo_c run over the same repository.
#
# Usage: bench/controller_bench.sh [-n PATCHES] [-r RUNS] [-b BUILD_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$HERE/scripts/lib.sh"
need_tools cmake ninja rpmbuild createrepo_c python3 bc awk lscpu
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
N=1000
RUNS=3
BUILD="$HERE/build/release"
while getopts "n:r:b:h" opt; do
    case "$opt" in
        n) N="$OPTARG" ;;
        r) RUNS="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,10p' "$0"; exit 2 ;;
    esac
done
if [ ! -x "$BUILD/patch_controller/patch-controller" ] || [ ! -x "$BUILD/sw_patch/sw-patch" ]; then
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target patch-controller sw-patch patch-build >/dev/null
CTL="$BUILD/patch_controller/patch-controller"
SWP="$BUILD/sw_patch/sw-patch"
PB="$BUILD/patch_build/patch-build"
KEY="$SHARED/fixtures/keys/fixture-signing-key.pem"
OUT="$HERE/bench/out"
ENV_DIR="$OUT/controller-bench"
mkdir -p "$OUT"
BENCH_NAME=controller_bench.sh
source "$HERE/bench/lib_bench.sh"

# --- inputs --------------------------------------------------------------------------------
if [ ! -d "$OUT/large" ] || [ "$(ls "$OUT/large" | wc -l)" -ne 10 ]; then
    echo "generating 10 x 50 MiB RPMs..." >&2
    bash "$SHARED/fixtures/make-test-rpms.sh" -o "$OUT" large >/dev/null
fi
tiny_patches "$N"   # -> $RPMS (tiny RPMs), $PATCHES (one patch per RPM)
LARGE_PATCH="$OUT/BULK_22.12_PATCH_0001.patch"
if [ ! -f "$LARGE_PATCH" ]; then
    args=()
    for r in "$OUT"/large/*.rpm; do args+=(--all-nodes "$r"); done
    "$PB" --id BULK_22.12_PATCH_0001 --release 22.12 --sign-key "$KEY" -o "$OUT" "${args[@]}" >/dev/null
fi

# --- controller ----------------------------------------------------------------------------
PID=""
start_controller() {
    "$CTL" --config "$ENV_DIR/controller.conf" >"$ENV_DIR/controller.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do [ -s "$ENV_DIR/state/api.port" ] && break; sleep 0.1; done
    export SW_PATCH_CONTROLLER="http://127.0.0.1:$(cat "$ENV_DIR/state/api.port")"
    export SW_PATCH_TOKEN_FILE="$ENV_DIR/admin.token"
}
stop_controller() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=""; rm -f "$ENV_DIR/state/api.port"; }
trap stop_controller EXIT
ulimit -n "$(ulimit -Hn)"   # the controller holds one descriptor per idle connection
fresh_env() {
    stop_controller
    rm -rf "$ENV_DIR"
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
import_roots = $PATCHES
CONF
    rm -f "$ENV_DIR/state/api.port"
    start_controller
}
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$PID/status"; }
hwm_kib() { awk '/^VmHWM/{print $2}' "/proc/$PID/status"; }

# --- 1. large upload -----------------------------------------------------------------------
best_up=""; worst_up=""; growth=0
for ((r = 0; r < RUNS; r++)); do
    fresh_env
    sync
    base=$(rss_kib)
    t0=$(now)
    "$SWP" upload "$LARGE_PATCH" | grep -q "is now available"
    t1=$(now)
    g=$(( ($(hwm_kib) - base) / 1024 ))
    [ "$g" -gt "$growth" ] && growth=$g
    t=$(ms "$t0" "$t1")
    [ -z "$best_up" ] || [ "$t" -lt "$best_up" ] && best_up=$t
    [ -z "$worst_up" ] || [ "$t" -gt "$worst_up" ] && worst_up=$t
done
# The least an import can do: store the bytes once and hash them (MD5 and SHA-256 in parallel).
sync
t0=$(now)
bash -c "cat '$LARGE_PATCH' | tee '$OUT/baseline-copy.patch' >(md5sum >/dev/null) | sha256sum >/dev/null; sync -f '$OUT/baseline-copy.patch'"
t1=$(now)
copy_ms=$(ms "$t0" "$t1")
rm -f "$OUT/baseline-copy.patch"
SIZE=$(stat -c %s "$LARGE_PATCH")

# --- 2. 1,000 patches ----------------------------------------------------------------------
fresh_env
t0=$(now)
"$SWP" upload-dir "$PATCHES" >/dev/null
t1=$(now)
import_ms=$(ms "$t0" "$t1")
count=$("$SWP" query --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["pd"]))')
qbest=""; qworst=""
for ((r = 0; r < 10; r++)); do
    t0=$(now); "$SWP" query >/dev/null; t1=$(now)
    t=$(ms "$t0" "$t1")
    [ -z "$qbest" ] || [ "$t" -lt "$qbest" ] && qbest=$t
    [ -z "$qworst" ] || [ "$t" -gt "$qworst" ] && qworst=$t
done
"$SWP" apply --all >/dev/null   # all in the repo: the worst case for one more change
abest=""; aworst=""; rbest=""; rworst=""
for ((r = 0; r < RUNS; r++)); do
    id=$(printf "BENCH_22.12_PATCH_%04d" $((r + 1)))
    t0=$(now); "$SWP" remove --skip-semantic "$id" >/dev/null; t1=$(now)
    t=$(ms "$t0" "$t1"); [ -z "$rbest" ] || [ "$t" -lt "$rbest" ] && rbest=$t; [ -z "$rworst" ] || [ "$t" -gt "$rworst" ] && rworst=$t
    t0=$(now); "$SWP" apply --skip-semantic "$id" >/dev/null; t1=$(now)
    t=$(ms "$t0" "$t1"); [ -z "$abest" ] || [ "$t" -lt "$abest" ] && abest=$t; [ -z "$aworst" ] || [ "$t" -gt "$aworst" ] && aworst=$t
done
# --- 3. idle connections --------------------------------------------------------------------
# Many keep-alive clients parked on the API must cost memory, not threads, and must not slow a query.
IDLE=${IDLE:-5000}
threads_before=$(awk '/^Threads/{print $2}' "/proc/$PID/status")
rss_before=$(rss_kib)
python3 - "$(cat "$ENV_DIR/state/api.port")" "$IDLE" "$ENV_DIR/idle.ready" <<'PY' &
import resource, socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
for s in conns:
    s.recv(4096)          # answered; the connection now idles, kept alive
open(ready, "w").close()
time.sleep(30)
PY
IDLE_PID=$!
for _ in $(seq 300); do [ -f "$ENV_DIR/idle.ready" ] && break; sleep 0.1; done
threads_idle=$(awk '/^Threads/{print $2}' "/proc/$PID/status")
rss_idle=$(rss_kib)
ibest=""
for ((r = 0; r < 10; r++)); do
    t0=$(now); "$SWP" query >/dev/null; t1=$(now)
    t=$(ms "$t0" "$t1"); [ -z "$ibest" ] || [ "$t" -lt "$ibest" ] && ibest=$t
done
kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null || true

t0=$(now)
rm -rf "$OUT/full-createrepo"; mkdir -p "$OUT/full-createrepo"
createrepo_c -q --workers 2 --no-database --outputdir "$OUT/full-createrepo" "$ENV_DIR/repo/rel-22.12/Packages" >/dev/null
t1=$(now)
full_ms=$(ms "$t0" "$t1")
rm -rf "$OUT/full-createrepo"
stop_controller

printf '\nMachine: %s, %s cores\n\n' "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)"
printf '%-60s %8s %8s   %s\n' "what" "best" "worst" "target"
printf '%-60s %6s ms %6s ms   <= 2500 ms\n' "sw-patch upload $((SIZE / 1000000)) MB patch -> 'is now available'" "$best_up" "$worst_up"
printf '%-60s %6s MiB            <= 64 MiB\n' "controller peak RSS growth during the upload" "$growth"
printf '%-60s %6s ms\n' "baseline: cat | tee file, md5sum, sha256sum; sync (no import)" "$copy_ms"
printf '%-60s %6s ms            (%d patches)\n' "upload-dir of $N patches (import only)" "$import_ms" "$count"
printf '%-60s %6s ms %6s ms   <= 100 ms\n' "sw-patch query with $count patches" "$qbest" "$qworst"
printf '%-60s %6s ms %6s ms   <= 1000 ms\n' "sw-patch apply of one patch (incl. repo update)" "$abest" "$aworst"
printf '%-60s %6s ms %6s ms   <= 1000 ms\n' "sw-patch remove of one patch (incl. repo update)" "$rbest" "$rworst"
printf '%-60s %6s ms\n' "baseline: full createrepo_c over the same repository" "$full_ms"
printf '%-60s %6s -> %s threads, RSS %s -> %s MiB\n' "$IDLE idle keep-alive connections" "$threads_before" "$threads_idle" \
    $((rss_before / 1024)) $((rss_idle / 1024))
printf '%-60s %6s ms\n' "sw-patch query while they are open" "$ibest"
