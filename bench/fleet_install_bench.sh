#!/usr/bin/env bash
# fleet_install_bench.sh: a rate-controlled install across a simulated fleet (issue #12).
#   usage: bench/fleet_install_bench.sh [-n HOSTS] [-s INSTALL_SECONDS] [-c MAX_CONCURRENCY] [-b BUILD_DIR]
# One controller and HOSTS (2,000) simulated agents (bench/agent_loadgen --install-seconds S: each
# install command is reported running, then "ok" S (5) seconds later). POST /v1/host-installs over
# every host with max-concurrency C (100) and reads the parent work request every second until it
# finishes. Prints: the elapsed time against the ideal (HOSTS/C waves x S; target <= 1.1 x ideal),
# the controller's peak RSS (target <= 300 MiB) and the slowest `work-request show` of the parent
# while it ran (target <= 100 ms).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$HERE/../shared"
BUILD="$HERE/build/release"
HOSTS=2000
SECS=5
CONC=100
while getopts "n:s:c:b:" opt; do
    case "$opt" in
        n) HOSTS="$OPTARG" ;;
        s) SECS="$OPTARG" ;;
        c) CONC="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,10p' "$0"; exit 2 ;;
    esac
done
source "$HERE/scripts/lib.sh"
need_tools cmake ninja curl bc python3 awk od
cmake --build "$BUILD" --target patch-controller patch-agent-loadgen >/dev/null
# Two connections per simulated host, on each side.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * HOSTS + 256)) ] || { echo "fleet_install_bench.sh: needs $((2 * HOSTS + 256)) descriptors" >&2; exit 1; }
CTL="$BUILD/patch_controller/patch-controller"
LOADGEN="$BUILD/bench/agent_loadgen/patch-agent-loadgen"
WORK="$(mktemp -d /tmp/fleet-install-bench.XXXXXX)"
BENCH_START=$(date +%s)
BENCH_NAME=fleet_install_bench.sh
source "$HERE/bench/lib_bench.sh"   # cleanup, die, new_controller (no per-peer cap: one address)

dir="$WORK/ctl"
new_controller "$dir" "$SHARED"/fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm
URL="http://127.0.0.1:$(cat "$dir/state/api.port")"
TOKEN="$(cat "$dir/admin.token")"
api() { curl -sS -H "Authorization: Bearer $TOKEN" -H "X-Patching-Client: bench" "$@"; }

"$LOADGEN" --controller "$URL" --enrolment-token-file "$dir/enrolment.token" --hosts "$HOSTS" --prefix sim \
    --install-seconds "$SECS" --stats-seconds 30 \
    --installed fixture-alpha-1.0-1.noarch --installed fixture-beta-1.0-1.noarch \
    --installed fixture-gamma-1.0-1.noarch >"$WORK/loadgen.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1200); do
    grep -q "^ready $HOSTS " "$WORK/loadgen.out" && break
    sleep 0.1
done
grep -q "^ready $HOSTS " "$WORK/loadgen.out" || die "the simulated fleet did not come up: $(tail -5 "$WORK/loadgen.out")"

hosts=$(seq -f "\"sim-%05g\"" 1 "$HOSTS" | paste -sd,)
t0=$(date +%s.%N)
reply=$(api -X POST -H "Content-Type: application/json" \
    -d "{\"hosts\": [$hosts], \"max_concurrency\": \"$CONC\", \"max_errors\": \"0\"}" "$URL/v1/host-installs")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$reply") || die "not accepted: $reply"
worst_show=0
while :; do
    out=$(api -o "$WORK/wr.json" -w '%{time_total}' "$URL/v1/work-requests/$id")
    show_ms=$(echo "$out * 1000 / 1" | bc)
    [ "$show_ms" -gt "$worst_show" ] && worst_show=$show_ms
    status=$(python3 -c 'import json; print(json.load(open("'"$WORK/wr.json"'"))["status"])')
    case "$status" in SUCCEEDED | FAILED | CANCELED) break ;; esac
    sleep 1
done
t1=$(date +%s.%N)
elapsed=$(printf '%.1f' "$(echo "$t1 - $t0" | bc -l)")
ideal=$(echo "($HOSTS + $CONC - 1) / $CONC * $SECS" | bc)
hwm=$(awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$CTL_PID/status")
counters=$(python3 -c 'import json; w=json.load(open("'"$WORK/wr.json"'")); print(w["status"], w["outcome"], w["counters"])')
echo "fleet install: $HOSTS hosts, install ${SECS} s, max-concurrency $CONC: $elapsed s (ideal $ideal s)"
echo "work request $id: $counters"
echo "controller peak RSS: $hwm MiB; slowest work-request show while it ran: $worst_show ms"
