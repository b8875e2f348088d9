#!/usr/bin/env bash
# jobs_bench.sh: scheduled jobs at scale (issue #13).
#   usage: bench/jobs_bench.sh [-n JOBS] [-t IDLE_SECONDS] [-b BUILD_DIR]
# Two controllers, each with 10 simulated agents (bench/agent_loadgen) in a group: A without jobs,
# B with JOBS (10,000) recurring jobs on the group (none due for a day). Prints, each beside its
# target:
#  - the CPU time (ns from /proc/PID/task/*/schedstat) each controller used over the same
#    IDLE_SECONDS (30) of idleness, and B - A: B's scheduler must cost no measurable CPU over A (no
#    periodic scan of the jobs);
#  - creating an hourly job that started two years ago (its rule expanded over 17,520 slots);
#  - the lag from a one-time job's slot to its run being recorded on B (target <= 1 s);
#  - creating one job and listing a page of 50 with JOBS stored (target <= 50 ms each).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$HERE/../shared"
BUILD="$HERE/build/release"
N=10000
IDLE=30
while getopts "n:t:b:" opt; do
    case "$opt" in
        n) N="$OPTARG" ;;
        t) IDLE="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
source "$HERE/scripts/lib.sh"
need_tools cmake ninja curl bc python3 awk od lscpu
cmake --build "$BUILD" --target patch-controller patch-agent-loadgen >/dev/null
CTL="$BUILD/patch_controller/patch-controller"
LOADGEN="$BUILD/bench/agent_loadgen/patch-agent-loadgen"
WORK="$(mktemp -d /tmp/jobs-bench.XXXXXX)"
BENCH_START=$(date +%s)
BENCH_NAME=jobs_bench.sh
source "$HERE/bench/lib_bench.sh"
DRIVER="$HERE/bench/jobs_bench.py"

# start DIR PREFIX: a controller with 10 simulated hosts in group "fleet"; sets URL_x, TOKEN_x, PID_x.
start() {
    local dir="$WORK/$1" prefix="$2"
    new_controller "$dir" "$SHARED"/fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm
    local url="http://127.0.0.1:$(cat "$dir/state/api.port")"
    "$LOADGEN" --controller "$url" --enrolment-token-file "$dir/enrolment.token" --hosts 10 --prefix "$prefix" \
        --install-seconds 1 --stats-seconds 3600 \
        --installed fixture-alpha-1.0-1.noarch --installed fixture-beta-1.0-1.noarch \
        --installed fixture-gamma-1.0-1.noarch >"$dir/loadgen.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 600); do grep -q "^ready 10 " "$dir/loadgen.out" && break; sleep 0.1; done
    grep -q "^ready 10 " "$dir/loadgen.out" || die "the simulated hosts did not come up: $(tail -5 "$dir/loadgen.out")"
    local hosts
    hosts=$(seq -f "\"$prefix-%05g\"" 1 10 | paste -sd,)
    curl -sSf -o /dev/null -H "Authorization: Bearer $(cat "$dir/admin.token")" -H "Content-Type: application/json" \
        -d "{\"name\": \"fleet\", \"hosts\": [$hosts]}" "$url/v1/groups" || die "group not created"
    eval "URL_$1=$url TOKEN_$1=$(cat "$dir/admin.token") PID_$1=$CTL_PID"
}

log "controller A (no jobs) and controller B, each with 10 simulated hosts"
start a sa
start b sb
log "creating $N jobs on B"
t0=$(now)
python3 "$DRIVER" create "$URL_b" "$TOKEN_b" "$N" fleet
t1=$(now)
create_all=$(secs "$t0" "$t1")
log "idle for $IDLE s"
sleep 2
# On-CPU nanoseconds (the first field of schedstat), summed over the process's threads: the
# scheduler is a thread of its own, and /proc/PID/stat's 10 ms ticks cannot tell 0 from 10 ms.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }  # %.0f: mawk clamps %d at 2^31
a0=$(cpu_ns "$PID_a"); b0=$(cpu_ns "$PID_b")
sleep "$IDLE"
a1=$(cpu_ns "$PID_a"); b1=$(cpu_ns "$PID_b")
cpu_a=$(printf '%.3f' "$(echo "scale=3; ($a1 - $a0) / 1000000" | bc)")
cpu_b=$(printf '%.3f' "$(echo "scale=3; ($b1 - $b0) / 1000000" | bc)")
cpu_d=$(printf '%.3f' "$(echo "scale=3; $cpu_b - $cpu_a" | bc)")
rss_b=$(rss_mib "$PID_b")
log "latencies"
python3 "$DRIVER" latency "$URL_b" "$TOKEN_b" fleet >"$WORK/latency.out"
read -r _ create_med create_max < <(grep '^create' "$WORK/latency.out")
read -r _ list_med list_max < <(grep '^list' "$WORK/latency.out")
read -r _ lag result wr_status wr_total < <(python3 "$DRIVER" due "$URL_b" "$TOKEN_b" fleet)
read -r _ expand_old expand_new < <(python3 "$DRIVER" expand "$URL_b" "$TOKEN_b" fleet)

printf '\nMachine: %s, %s cores\n\n' "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)"
printf '%-66s %10s   %s\n' "what" "measured" "target / baseline"
printf '%-66s %8s s\n' "creating $N jobs through POST /v1/jobs (4 clients)" "$create_all"
printf '%-66s %7s ms   baseline (A: no jobs; schedstat ns)\n' "CPU used by idle controller A over $IDLE s" "$cpu_a"
printf '%-66s %7s ms   about A (no periodic scan of the jobs)\n' "CPU used by idle controller B with $N jobs over $IDLE s" "$cpu_b"
printf '%-66s %7s ms\n' "difference B - A" "$cpu_d"
printf '%-66s %6s MiB\n' "controller B RSS with $N jobs" "$rss_b"
printf '%-66s %7s ms   <= 1000 ms (run %s, work request %s, %s hosts)\n' "a due job: from its slot to its run recorded (B)" \
    "$lag" "$result" "$wr_status" "$wr_total"
printf '%-66s %7s ms   <= 50 ms (worst %s ms)\n' "create one job with $N stored (median of 20)" "$create_med" "$create_max"
printf '%-66s %7s ms   (one starting tomorrow: %s ms)\n' "create an hourly job started 2 years ago (expands 17,520 slots)" \
    "$expand_old" "$expand_new"
printf '%-66s %7s ms   <= 50 ms (worst %s ms)\n' "list a page of 50 jobs with $N stored (median of 20)" "$list_med" "$list_max"
