#!/usr/bin/env bash
# Benchmark /metrics (issue #15):
#  1. GET /metrics with PATCHES (1,000) patches and HOSTS (5,000) simulated agents connected
#     (bench/agent_loadgen), median and max of 20 (target <= 50 ms), beside the REST reads of the
#     same data: GET /v1/query (the patches) and GET /v1/query_hosts (the hosts);
#  2. what counting costs agent report handling: the same waves (apply, remove, apply... of one
#     patch; every host re-queries and reports) on a controller with metrics on and one with
#     `metrics = false`, controller CPU per report, WAVES waves each, side by side.
# Usage: bench/metrics_bench.sh [-H HOSTS] [-n PATCHES] [-w WAVES] [-b BUILD_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
HOSTS=5000
N=1000
WAVES=3
BUILD="$HERE/build/release"
while getopts "H:n:w:b:h" opt; do
    case "$opt" in
        H) HOSTS="$OPTARG" ;;
        n) N="$OPTARG" ;;
        w) WAVES="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,9p' "$0"; exit 2 ;;
    esac
done
source "$HERE/scripts/lib.sh"
need_tools cmake ninja rpmbuild createrepo_c curl python3 bc awk getconf lscpu
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target patch-controller sw-patch patch-build patch-agent-loadgen >/dev/null
CTL="$BUILD/patch_controller/patch-controller"
SWP="$BUILD/sw_patch/sw-patch"
PB="$BUILD/patch_build/patch-build"
LOADGEN="$BUILD/bench/agent_loadgen/patch-agent-loadgen"
KEY="$SHARED/fixtures/keys/fixture-signing-key.pem"
FIX="$SHARED/fixtures/rpms"
OUT="$HERE/bench/out"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/metrics-bench.XXXXXX)"
TICK=$(getconf CLK_TCK)
BENCH_START=$(date +%s)
BENCH_NAME=metrics_bench.sh
source "$HERE/bench/lib_bench.sh"
ulimit -n "$(ulimit -Hn)"
tiny_patches "$N"

# get_ms PATH: one authenticated GET, its wall time in ms (curl's own timer).
get_ms() {
    curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" \
        "$SW_PATCH_CONTROLLER$1" | awk '{printf "%.1f", $1 * 1000}'
}
# times PATH RUNS: median and max of RUNS GETs, "median max".
times() {
    local t=() i
    for ((i = 0; i < $2; i++)); do t+=("$(get_ms "$1")"); done
    echo "$(median "${t[@]}") $(maximum "${t[@]}")"
}

# fleet DIR METRICS(true|false): a controller with the N patches imported and HOSTS simulated
# agents connected; sets LG_PID, LG_OUT.
fleet() {
    local dir="$1"
    CONTROLLER_EXTRA="metrics = $2
import_roots = $PATCHES" new_controller "$dir" "$FIX"/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm
    "$SWP" upload-dir "$PATCHES" >/dev/null
    [ -f "$WORK/WAVE_22.12_PATCH_0001.patch" ] || make_patch WAVE_22.12_PATCH_0001 "$FIX/fixture-alpha-1.0-2.noarch.rpm"
    "$SWP" upload "$WORK/WAVE_22.12_PATCH_0001.patch" >/dev/null
    LG_OUT="$dir/loadgen.out"
    "$LOADGEN" --controller "$SW_PATCH_CONTROLLER" --enrolment-token-file "$dir/enrolment.token" --hosts "$HOSTS" \
        --prefix sim --installed fixture-alpha-1.0-1.noarch --installed fixture-beta-1.0-1.noarch \
        --installed fixture-gamma-1.0-1.noarch >"$LG_OUT" 2>&1 &
    LG_PID=$!
    PIDS+=("$LG_PID")
    wait_count "$LG_OUT" "^ready $HOSTS " 1 300 "$LG_PID"
    sleep 2
}

# wave_cpu_ms apply|remove ID: every host re-queries and reports after it. Prints the controller's
# CPU ms per report (the apply or remove included).
wave_cpu_ms() {
    local before c0
    before=$(grep -c '^all-reported' "$LG_OUT" || true)
    c0=$(cpu_ticks "$CTL_PID")
    "$SWP" "$1" "$2" >/dev/null
    wait_count "$LG_OUT" '^all-reported' $((before + 1)) 120 "$LG_PID"
    echo "scale=3; ($(cpu_ticks "$CTL_PID") - $c0) * 1000 / $TICK / $HOSTS" | bc
}

log "1. controller, $N patches, $HOSTS simulated agents (metrics on)"
fleet "$WORK/on" true
read -r m_med m_max < <(times /metrics 20)
read -r q_med q_max < <(times /v1/query 20)
read -r h_med h_max < <(times /v1/query_hosts 10)
metrics_bytes=$(curl -sf -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" "$SW_PATCH_CONTROLLER/metrics" | wc -c)
hosts_line=$(curl -sf -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" "$SW_PATCH_CONTROLLER/metrics" |
    grep -E '^patching_hosts\{' | tr '\n' ' ')
log "2. report handling with metrics on"
ON=()
for ((w = 1; w <= WAVES; w++)); do ON+=("$(wave_cpu_ms "$( ((w % 2)) && echo apply || echo remove)" WAVE_22.12_PATCH_0001)"); done
stop_pid "$LG_PID"
stop_pid "$CTL_PID"

log "2. report handling with metrics off"
fleet "$WORK/off" false
off_metrics_status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" \
    "$SW_PATCH_CONTROLLER/metrics")
OFF=()
for ((w = 1; w <= WAVES; w++)); do OFF+=("$(wave_cpu_ms "$( ((w % 2)) && echo apply || echo remove)" WAVE_22.12_PATCH_0001)"); done
stop_pid "$LG_PID"
stop_pid "$CTL_PID"

printf '\nMachine: %s, %s cores; load %s at the end\n' "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%d patches, %d simulated agents (one loadgen process sharing the cores)\n\n' "$N" "$HOSTS"
printf '%-58s %16s %8s\n' "" "median / max ms" "target"
printf '%-58s %16s %8s %s\n' "GET /metrics ($metrics_bytes bytes)" "$m_med / $m_max" "<= 50" \
    "$(verdict "$m_med" "<=" 50)"
printf '%-58s %16s\n' "  beside: GET /v1/query (the same $N patches)" "$q_med / $q_max"
printf '%-58s %16s\n' "  beside: GET /v1/query_hosts (the same $HOSTS hosts)" "$h_med / $h_max"
printf '  host gauges: %s\n\n' "$hosts_line"
printf '%-58s %s\n' "controller CPU per report, ms (each wave: $HOSTS reports)" "median (waves)"
printf '%-58s %s (%s)\n' "  metrics on" "$(median "${ON[@]}")" "${ON[*]}"
printf '%-58s %s (%s)\n' "  metrics off (metrics = false; /metrics answers $off_metrics_status)" "$(median "${OFF[@]}")" "${OFF[*]}"
