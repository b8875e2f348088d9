#!/usr/bin/env bash
# host_flow_bench.sh: the full host flow (issue #14) across a simulated fleet.
#   usage: bench/host_flow_bench.sh [-n HOSTS] [-c MAX_CONCURRENCY] [-p PHASE_S] [-i INSTALL_S] [-r REBOOT_S] [-b BUILD_DIR]
# One controller and HOSTS (1,000) simulated agents (bench/agent_loadgen with --phase-seconds P:
# lock, unlock and every hook answer "ok" P (1) seconds after they arrive; installs take I (5) s
# and leave the host needing a reboot; a reboot brings the host back with a new boot id R (5) s
# later). POST /v1/host-installs {"flow": "full", "lock": true} over every host with
# max-concurrency C (50): per host PRECHECK, PRE_LOCK, LOCK, INSTALL, POST_INSTALL, REBOOT and
# WAIT_HOST, POST_REBOOT, UNLOCK, POST_UNLOCK, POSTCHECK, VERIFY. Prints the elapsed time against
# the ideal: waves (HOSTS/C) x the sum of the phase durations (8 P + I + R); target <= 1.1 x ideal.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$HERE/../shared"
BUILD="$HERE/build/release"
HOSTS=1000
CONC=50
PHASE=1
INSTALL=5
REBOOT=5
while getopts "n:c:p:i:r:b:" opt; do
    case "$opt" in
        n) HOSTS="$OPTARG" ;;
        c) CONC="$OPTARG" ;;
        p) PHASE="$OPTARG" ;;
        i) INSTALL="$OPTARG" ;;
        r) REBOOT="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,11p' "$0"; exit 2 ;;
    esac
done
source "$HERE/scripts/lib.sh"
need_tools cmake ninja curl bc python3 awk od
cmake --build "$BUILD" --target patch-controller patch-agent-loadgen >/dev/null
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * HOSTS + 256)) ] || { echo "host_flow_bench.sh: needs $((2 * HOSTS + 256)) descriptors" >&2; exit 1; }
CTL="$BUILD/patch_controller/patch-controller"
LOADGEN="$BUILD/bench/agent_loadgen/patch-agent-loadgen"
WORK="$(mktemp -d /tmp/host-flow-bench.XXXXXX)"
BENCH_START=$(date +%s)
BENCH_NAME=host_flow_bench.sh
source "$HERE/bench/lib_bench.sh"   # cleanup, die, new_controller

dir="$WORK/ctl"
# The engine looks at outcomes every 50 ms: a phase's hand-over costs a tick, not a quarter second.
CONTROLLER_EXTRA="work_tick_ms = 50
host_hook_retry_seconds = 0" \
    new_controller "$dir" "$SHARED"/fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm
URL="http://127.0.0.1:$(cat "$dir/state/api.port")"
TOKEN="$(cat "$dir/admin.token")"
api() { curl -sS -H "Authorization: Bearer $TOKEN" -H "X-Patching-Client: bench" "$@"; }

"$LOADGEN" --controller "$URL" --enrolment-token-file "$dir/enrolment.token" --hosts "$HOSTS" --prefix sim \
    --install-seconds "$INSTALL" --phase-seconds "$PHASE" --reboot-seconds "$REBOOT" --reboot-required \
    --stats-seconds 30 \
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
    -d "{\"hosts\": [$hosts], \"max_concurrency\": \"$CONC\", \"max_errors\": \"0\", \"flow\": \"full\", \"lock\": true}" \
    "$URL/v1/host-installs")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$reply") || die "not accepted: $reply"
while :; do
    api -o "$WORK/wr.json" "$URL/v1/work-requests/$id"
    status=$(python3 -c 'import json; print(json.load(open("'"$WORK/wr.json"'"))["status"])')
    case "$status" in SUCCEEDED | FAILED | CANCELED) break ;; esac
    sleep 1
done
t1=$(date +%s.%N)
elapsed=$(printf '%.1f' "$(echo "$t1 - $t0" | bc -l)")
per_host=$(echo "8 * $PHASE + $INSTALL + $REBOOT" | bc -l)
ideal=$(echo "(($HOSTS + $CONC - 1) / $CONC) * $per_host" | bc)
hwm=$(awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$CTL_PID/status")
counters=$(python3 -c 'import json; w=json.load(open("'"$WORK/wr.json"'")); print(w["status"], w["outcome"], w["counters"])')
echo "full host flow: $HOSTS hosts, max-concurrency $CONC, phases ${PHASE} s x 8 + install ${INSTALL} s + reboot ${REBOOT} s: $elapsed s (ideal $ideal s, ratio $(echo "scale=3; $elapsed / $ideal" | bc))"
echo "work request $id: $counters"
echo "controller peak RSS: $hwm MiB"
[ "$status" = SUCCEEDED ] || { api "$URL/v1/work-requests/$id/errors" | head -c 2000; echo; die "the work request ended $status"; }
