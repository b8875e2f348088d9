#!/usr/bin/env bash
# Benchmark the agent protocol and the agent (issue #4, "Scale and speed"):
#  1. one controller, HOSTS (5,000) simulated agents speaking the real protocol in one process
#     (bench/agent_loadgen): sw-patch query-hosts latency (target <= 300 ms), controller RSS
#     (<= 200 MiB) and CPU while they poll at the default interval, and apply with the fleet
#     connected: the apply itself and the re-report wave it triggers (reports/s, controller CPU per
#     report at 1/5 and all of the fleet: equal costs mean the state recompute is incremental);
#  2. AGENTS (50) real patch-agent processes on loopback, each with its own root: apply -> every
#     host reported out of date, interim cleared, Partial-Apply (target <= 3 s); host-install of
#     all of them at once -> Applied;
#  3. host-install of a 10-RPM patch (10 x 1 MiB) into a root vs rpm -U of the same 10 files into
#     an identical root, RUNS (11) runs each, for each %_dbpath variant: Debian's (computed by a
#     shell, ~/.rpmdb) and a literal one (/var/lib/rpm, as on RPM-based hosts); the medians and
#     their spread (min-max), target ratio of the medians <= 1.2. host-install is timed from the
#     request to the agent's log line saying the controller has its result (then checked in the
#     host table): polling the controller every 5 ms instead loads the 2 shared cores enough to
#     slow rpm -U itself by about 8 %;
#     Each variant runs with the agent's prefetch on (the agent downloads and verifies what an
#     install needs as soon as it sees the host out of date; host-install is timed once its log
#     says so, as when an operator installs after an apply) and off (the install downloads);
#  4. idle patch-agent RSS after it has reported (target <= 20 MiB).
# Targets missed print FAIL but do not fail the script; a step that breaks exits non-zero.
#
# Usage: bench/agent_bench.sh [-H HOSTS] [-a AGENTS] [-r RUNS] [-w STEADY_SECONDS] [-b BUILD_DIR]
#                             [-o] [-d debian|literal|both] [-p on|off|both]
#   -o  only part 3 (host-install vs rpm -U), about 2 minutes
#   -d  which %_dbpath variants part 3 runs (default both)
#   -p  part 3 with the agent's prefetch on, off or both (default both)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
HOSTS=5000
AGENTS=50
RUNS=11
STEADY=30
BUILD="$HERE/build/release"
ONLY_INSTALL=0
DBPATHS=both
PREFETCH=both
AGENT_PREFETCH=true
while getopts "H:a:r:w:b:od:p:h" opt; do
    case "$opt" in
        H) HOSTS="$OPTARG" ;;
        a) AGENTS="$OPTARG" ;;
        r) RUNS="$OPTARG" ;;
        w) STEADY="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        o) ONLY_INSTALL=1 ;;
        d) DBPATHS="$OPTARG" ;;
        p) PREFETCH="$OPTARG" ;;
        *) sed -n '2,28p' "$0"; exit 2 ;;
    esac
done
case "$DBPATHS" in
    debian | literal | both) ;;
    *) echo "agent_bench.sh: -d takes debian, literal or both" >&2; exit 2 ;;
esac
case "$PREFETCH" in
    on | off | both) ;;
    *) echo "agent_bench.sh: -p takes on, off or both" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "agent_bench.sh: run as root (patch-agent installs into its roots)" >&2; exit 1; }
source "$HERE/scripts/lib.sh"
need_tools cmake ninja rpm rpmbuild createrepo_c python3 bc awk getconf lscpu
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target patch-controller sw-patch patch-build patch-agent patch-agent-loadgen >/dev/null
CTL="$BUILD/patch_controller/patch-controller"
SWP="$BUILD/sw_patch/sw-patch"
PB="$BUILD/patch_build/patch-build"
AGENT="$BUILD/patch_agent/patch-agent"
LOADGEN="$BUILD/bench/agent_loadgen/patch-agent-loadgen"
WATCH=(python3 "$HERE/bench/agent_bench_watch.py")
KEY="$SHARED/fixtures/keys/fixture-signing-key.pem"
FIX="$SHARED/fixtures/rpms"
OUT="$HERE/bench/out"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/agent-bench.XXXXXX)"
TICK=$(getconf CLK_TCK)
BENCH_START=$(date +%s)
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)

BENCH_NAME=agent_bench.sh
source "$HERE/bench/lib_bench.sh"

# seed_root ROOT RPM...: a managed root holding the base packages, as the brief's hosts have.
seed_root() {
    local root="$1"
    shift
    mkdir -p "$root"
    rpm --root "$root" -i --nodeps "$@" 2>/dev/null || die "rpm -i into $root failed"
}

# start_agent NAME ROOT CONTROLLER_DIR: patch-agent with its own root and state, self-enrolling.
start_agent() {
    local name="$1" root="$2" cdir="$3" dir="$WORK/agents/$1"
    mkdir -p "$dir/state"
    cat >"$dir/agent.conf" <<CONF
[agent]
hostname = $name
sw_version = 22.12
controller_url = $SW_PATCH_CONTROLLER
root = $root
state_dir = $dir/state
enrolment_token_file = $cdir/enrolment.token
prefetch = $AGENT_PREFETCH
prefetch_spread_seconds = 0
CONF
    "$AGENT" --config "$dir/agent.conf" >"$dir/agent.log" 2>&1 &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
}

# ==== 1. 5,000 simulated agents ==================================================================
fleet_part() {
    log "1. controller + $HOSTS simulated agents"
    S1="$WORK/s1"
    BASE=("$FIX"/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm)
    new_controller "$S1" "${BASE[@]}"
    # PA adds a package to every host's group (missing_pkgs) and upgrades one (installed), PB and PC
    # upgrade more: each simulated host's report lists a few packages, as an out-of-date host's does.
    make_patch AGB_22.12_PATCH_0001 "$FIX/fixture-alpha-1.0-2.noarch.rpm" "$FIX/fixture-delta-1.0-1.noarch.rpm"
    make_patch AGB_22.12_PATCH_0002 "$FIX/fixture-beta-1.0-2.noarch.rpm"
    make_patch AGB_22.12_PATCH_0003 "$FIX/fixture-alpha-1.0-3.noarch.rpm"
    "$SWP" upload "$WORK"/AGB_22.12_PATCH_000{1,2,3}.patch >/dev/null
    t0=$(now); "$SWP" apply AGB_22.12_PATCH_0001 >/dev/null; t1=$(now)
    apply0_ms=$(ms "$t0" "$t1")

    FIRST=$((HOSTS / 5))
    LG_OUT="$S1/loadgen.out"
    "$LOADGEN" --controller "$SW_PATCH_CONTROLLER" --enrolment-token-file "$S1/enrolment.token" --hosts "$HOSTS" \
        --first-batch "$FIRST" --prefix sim \
        --installed fixture-alpha-1.0-1.noarch --installed fixture-beta-1.0-1.noarch --installed fixture-gamma-1.0-1.noarch \
        >"$LG_OUT" 2>&1 &
    LG_PID=$!
    PIDS+=("$LG_PID")
    wait_count "$LG_OUT" "^ready $FIRST " 1 120 "$LG_PID"

    # wave ID HOSTS: applies ID with HOSTS simulated agents connected; sets apply_ms, wave_s (first
    # host told -> every host reported), total_s (apply start -> every host reported), rate (reports/s),
    # cpu_ms_per_report (controller CPU during the apply and the wave / HOSTS), lg_cpu_s (the loadgen's),
    # other_cpu_s (every other process on the machine meanwhile: the cores are shared), told_ms (apply
    # start -> the first agent told: the apply's own work, including waking every held poll).
    wave() {
        local id="$1" n="$2" before c0 l0 m0 ta tb line news_ts all_ts out
        before=$(grep -c '^all-reported' "$LG_OUT" || true)
        sleep 1
        c0=$(cpu_ticks "$CTL_PID"); l0=$(cpu_ticks "$LG_PID"); m0=$(machine_busy_ticks)
        ta=$(now); out=$("$SWP" apply "$id"); tb=$(now)
        grep -q "is now in the repo" <<<"$out" || die "apply $id failed: $out"
        wait_count "$LG_OUT" '^all-reported' $((before + 1)) 120 "$LG_PID"
        local dc dl dm
        dc=$(($(cpu_ticks "$CTL_PID") - c0)); dl=$(($(cpu_ticks "$LG_PID") - l0)); dm=$(($(machine_busy_ticks) - m0))
        cpu_ms_per_report=$(echo "scale=3; $dc * 1000 / $TICK / $n" | bc)
        lg_cpu_s=$(echo "scale=2; $dl / $TICK" | bc)
        other_cpu_s=$(echo "scale=2; ($dm - $dc - $dl) / $TICK" | bc)
        line=$(grep '^all-reported' "$LG_OUT" | tail -1)
        all_ts=$(echo "$line" | awk '{print $3}')
        news_ts=$(grep '^news' "$LG_OUT" | tail -1 | awk '{print $3}')
        apply_ms=$(ms "$ta" "$tb")
        told_ms=$(ms "$ta" "$news_ts")
        wave_s=$(secs "$news_ts" "$all_ts")
        total_s=$(secs "$ta" "$all_ts")
        rate=$(echo "$n / ($all_ts - $news_ts)" | bc)
        wave_p50=$(echo "$line" | awk '{print $4}'); wave_p99=$(echo "$line" | awk '{print $5}')
    }
    log "   apply with $FIRST hosts"
    wave AGB_22.12_PATCH_0002 "$FIRST"
    apply1_ms=$apply_ms; wave1_s=$wave_s; total1_s=$total_s; rate1=$rate; cpu1=$cpu_ms_per_report; lgcpu1=$lg_cpu_s
    told1_ms=$told_ms; other1=$other_cpu_s

    log "   the other $((HOSTS - FIRST)) hosts join"
    kill -USR1 "$LG_PID"
    wait_count "$LG_OUT" "^ready $HOSTS " 1 300 "$LG_PID"
    join_s=$(grep "^ready $HOSTS " "$LG_OUT" | awk '{print $3}')
    sleep 3
    log "   steady state: ${STEADY}s of polls at the default interval"
    c0=$(cpu_ticks "$CTL_PID"); l0=$(cpu_ticks "$LG_PID"); t0=$(now)
    sleep "$STEADY"
    steady_cpu=$(echo "scale=1; ($(cpu_ticks "$CTL_PID") - $c0) * 100 / $TICK / ($(now) - $t0)" | bc)
    steady_lg_cpu=$(echo "scale=1; ($(cpu_ticks "$LG_PID") - $l0) * 100 / $TICK / ($(now) - $t0)" | bc)
    steady_rss=$(rss_mib "$CTL_PID")
    steady_threads=$(awk '/^Threads/{print $2}' "/proc/$CTL_PID/status")
    steady_fds=$(ls "/proc/$CTL_PID/fd" | wc -l)

    log "   sw-patch query-hosts x 10"
    QH=()
    for ((r = 0; r < 10; r++)); do
        t0=$(now); "$SWP" query-hosts >"$S1/query-hosts.txt"; t1=$(now)
        QH+=("$(ms "$t0" "$t1")")
    done
    listed=$(($(wc -l <"$S1/query-hosts.txt") - 2))
    [ "$listed" -eq "$HOSTS" ] || die "query-hosts lists $listed hosts, expected $HOSTS"
    QJ=()
    for ((r = 0; r < 5; r++)); do
        t0=$(now)
        curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" "$SW_PATCH_CONTROLLER/v1/query_hosts"
        t1=$(now)
        QJ+=("$(ms "$t0" "$t1")")
    done
    qh_bytes=$(curl -sf -H "Authorization: Bearer $(cat "$SW_PATCH_TOKEN_FILE")" "$SW_PATCH_CONTROLLER/v1/query_hosts" | wc -c)

    log "   apply with $HOSTS hosts"
    wave AGB_22.12_PATCH_0003 "$HOSTS"
    apply5_ms=$apply_ms; wave5_s=$wave_s; total5_s=$total_s; rate5=$rate; cpu5=$cpu_ms_per_report; lgcpu5=$lg_cpu_s
    told5_ms=$told_ms; other5=$other_cpu_s
    p50_5=$wave_p50; p99_5=$wave_p99
    # Every host out of date, nobody pending, all three patches partially applied.
    "${WATCH[@]}" wait --hosts "$HOSTS" --prefix sim- --current no --no-interim --timeout 10 \
        --patch AGB_22.12_PATCH_0001=Partial-Apply --patch AGB_22.12_PATCH_0002=Partial-Apply \
        --patch AGB_22.12_PATCH_0003=Partial-Apply >/dev/null || die "patch states after the apply wave are wrong"
    end_rss=$(rss_mib "$CTL_PID")
    end_hwm=$(hwm_mib "$CTL_PID")
    stop_pid "$LG_PID"
    lg_errors=$(grep '^stats' "$LG_OUT" | tail -1 | sed -n 's/.* errors=\([0-9]*\).*/\1/p')
    stop_pid "$CTL_PID"
}

# ==== 2. 50 real agents =========================================================================
real_agents_part() {
    log "2. $AGENTS real patch-agent processes"
    S2="$WORK/s2"
    new_controller "$S2" "${BASE[@]}"
    make_patch AGB_22.12_PATCH_0010 "$FIX/fixture-alpha-1.0-2.noarch.rpm"
    "$SWP" upload "$WORK/AGB_22.12_PATCH_0010.patch" >/dev/null
    names=()
    for ((i = 1; i <= AGENTS; i++)); do names+=("$(printf 'agent-%03d' "$i")"); done
    for ((i = 0; i < AGENTS; i += 4)); do   # rpm -i, a few at a time
        seeding=()
        for name in "${names[@]:i:4}"; do
            seed_root "$S2/roots/$name" "${BASE[@]}" &
            seeding+=($!)
        done
        for pid in "${seeding[@]}"; do wait "$pid" || die "seeding a root failed"; done
    done
    for name in "${names[@]}"; do
        [ -n "$(ls -A "$S2/roots/$name")" ] || die "seeding $S2/roots/$name failed"
    done
    AGENT_PIDS=()
    for name in "${names[@]}"; do
        start_agent "$name" "$S2/roots/$name" "$S2"
        AGENT_PIDS+=("$AGENT_PID")
    done
    "${WATCH[@]}" wait --hosts "$AGENTS" --prefix agent- --current yes --timeout 60 >/dev/null ||
        { tail -5 "$WORK"/agents/agent-001/agent.log >&2; die "the $AGENTS agents did not all report"; }
    sleep 2
    RSS0=()
    for pid in "${AGENT_PIDS[@]}"; do RSS0+=("$(rss_mib "$pid")"); done

    t0=$(now)
    out=$("$SWP" apply AGB_22.12_PATCH_0010)
    grep -q "is now in the repo" <<<"$out" || die "apply failed: $out"
    reported_s=$("${WATCH[@]}" wait --hosts "$AGENTS" --prefix agent- --current no --no-interim \
        --patch AGB_22.12_PATCH_0010=Partial-Apply --since "$t0" --timeout 60) || die "the agents did not all report the apply"

    "${WATCH[@]}" install "${names[@]}" --since-file "$S2/install.since"
    installed_s=$("${WATCH[@]}" wait --hosts "$AGENTS" --prefix agent- --current yes --installed ok \
        --patch AGB_22.12_PATCH_0010=Applied --since "$(cat "$S2/install.since")" --timeout 120) ||
        die "host-install on all agents did not reach Applied"
    for name in "${names[@]}"; do
        [ "$(rpm --root "$S2/roots/$name" -q fixture-alpha)" = fixture-alpha-1.0-2.noarch ] ||
            die "$name does not have fixture-alpha-1.0-2 after host-install"
    done
    sleep 3
    RSS1=()
    for pid in "${AGENT_PIDS[@]}"; do RSS1+=("$(rss_mib "$pid")"); done
    stop_agents "${AGENT_PIDS[@]}"
    slow_stops=$KILLED
    stop_pid "$CTL_PID"
}

# ==== 3. agent overhead: host-install vs rpm -U ================================================
# overhead_runs LABEL HOME: RUNS x (host-install on a fresh agent and root; rpm -U into a fresh
# root), with HOME set for both (it selects ~/.rpmmacros, hence %_dbpath). Sets AGENT_T, RPM_T,
# RATIO_T (per run) and SPLIT_MED (median ms of: the agent's own install phases from its
# "install timing" log line, and what the request and report protocol add around them).
overhead_runs() {
    local label="$1" home="$2" r name pid res total timing a r_t
    AGENT_T=(); RPM_T=(); RATIO_T=(); local splits=()
    rm -rf "$S3/template"
    HOME="$home" seed_root "$S3/template" "$RPMS10"/agbench-pkg*-1.0-1.noarch.rpm
    for ((r = 1; r <= RUNS; r++)); do
        name=$(printf 'ovh-%s-%02d' "$label" "$r")
        cp -a "$S3/template" "$S3/root-$name"
        HOME="$home" start_agent "$name" "$S3/root-$name" "$S3"
        pid=$AGENT_PID
        "${WATCH[@]}" wait --hosts 1 --prefix "$name" --current no --no-interim --timeout 60 >/dev/null ||
            die "agent $name did not report"
        if [ "$AGENT_PREFETCH" = true ]; then
            for ((w = 0; w < 600; w++)); do
                grep -q 'prefetched 10 package' "$WORK/agents/$name/agent.log" && break
                sleep 0.05
            done
            grep -q 'prefetched 10 package' "$WORK/agents/$name/agent.log" || die "agent $name did not prefetch"
        fi
        sync
        res=$("${WATCH[@]}" time-install "$name" --timeout 120 --log "$WORK/agents/$name/agent.log") ||
            die "host-install on $name failed"
        total=${res%% *}
        AGENT_T+=("$total")
        [ "$(HOME="$home" rpm --root "$S3/root-$name" -qa 'agbench-pkg*' | grep -c -- '-1.0-2.noarch$')" = 10 ] ||
            die "host-install on $name did not upgrade the 10 packages"
        timing=$(grep -m1 'install timing:' "$WORK/agents/$name/agent.log" | sed 's/.*install timing: //' || true)
        splits+=("$total $timing")
        stop_agents "$pid"

        cp -a "$S3/template" "$S3/root-rpm-$name"
        sync
        t0=$(now)
        HOME="$home" rpm --root "$S3/root-rpm-$name" -U "$RPMS10"/agbench-pkg*-1.0-2.noarch.rpm 2>/dev/null ||
            die "rpm -U failed"
        t1=$(now)
        r_t=$(echo "$t1 - $t0" | bc -l)
        RPM_T+=("$r_t")
        RATIO_T+=("$(printf '%.3f' "$(echo "scale=4; $total / $r_t" | bc)")")
        rm -rf "$S3/root-$name" "$S3/root-rpm-$name"
    done
    # "TOTAL_S total=MS query=MS download=MS transaction=MS scripts=MS finish=MS ..." -> medians
    # of each phase in ms, and of "protocol": what is not the agent's own work (the request
    # reaching the agent through its held poll, the result report's round trip).
    SPLIT_MED=""
    if [ -n "$(printf '%s\n' "${splits[@]}" | awk 'NF > 1')" ]; then
        local keys k vals
        keys=$(printf '%s\n' "${splits[@]}" | awk '{for (i = 2; i <= NF; i++) {split($i, kv, "="); print kv[1]}}' | awk '!seen[$0]++')
        for k in $keys protocol; do
            vals=$(printf '%s\n' "${splits[@]}" | awk -v k="$k" '{
                delete t; for (i = 2; i <= NF; i++) { split($i, kv, "="); t[kv[1]] = kv[2] }
                if (k == "protocol") { if ("total" in t) print 1000 * $1 - t["total"] } else if (k in t) print t[k] }')
            [ -n "$vals" ] && SPLIT_MED+="$k $(printf '%.0f' "$(median $vals)"), "
        done
        SPLIT_MED=${SPLIT_MED%, }
    fi
}
# spread V...: "min-max" with 3 decimals.
spread() { printf '%.3f-%.3f' "$(printf '%s\n' "$@" | sort -g | head -1)" "$(maximum "$@")"; }

install_part() {
    log "3. host-install of 10 x 1 MiB RPMs vs rpm -U, $RUNS runs each, %_dbpath: $DBPATHS"
    RPMS10="$OUT/agent-bench-rpms"
    mkdir -p "$RPMS10"
    for rel in 1 2; do
        for i in $(seq -w 1 10); do
            name="agbench-pkg$i"
            [ -f "$RPMS10/$name-1.0-$rel.noarch.rpm" ] && continue
            top="$WORK/rpmbuild"
            SOURCE_DATE_EPOCH=1700000000 rpmbuild -bb --quiet --define "_topdir $top" \
                --define "pkgname $name" --define "pkgver 1.0" --define "pkgrel $rel" \
                --define "payload_kind random" --define "payload_bytes 1048576" --define "_binary_payload w.ufdio" \
                --define "_build_id_links none" "$SHARED/fixtures/test-rpm.spec" >/dev/null 2>&1 ||
                die "rpmbuild of $name-1.0-$rel failed"
            mv "$top/RPMS/noarch/$name-1.0-$rel.noarch.rpm" "$RPMS10/"
        done
    done
    S3="$WORK/s3"
    new_controller "$S3" "$RPMS10"/agbench-pkg*-1.0-1.noarch.rpm
    make_patch AGB_22.12_PATCH_0020 "$RPMS10"/agbench-pkg*-1.0-2.noarch.rpm
    "$SWP" upload "$WORK/AGB_22.12_PATCH_0020.patch" >/dev/null
    out=$("$SWP" apply AGB_22.12_PATCH_0020)
    grep -q "is now in the repo" <<<"$out" || die "apply failed: $out"
    # Debian's rpm computes %_dbpath with a shell (%(bash -c 'echo ~/.rpmdb')) at every expansion;
    # RPM-based hosts have a literal /var/lib/rpm. The second variant gives both tools that, through
    # a ~/.rpmmacros of their own (each variant seeds its own template root with it).
    local pf suffix
    for pf in on off; do
        [ "$PREFETCH" = both ] || [ "$PREFETCH" = "$pf" ] || continue
        if [ "$pf" = on ]; then AGENT_PREFETCH=true; suffix=PF; else AGENT_PREFETCH=false; suffix=NOPF; fi
        if [ "$DBPATHS" != literal ]; then
            overhead_runs "deb-$pf" "$HOME"
            eval "AGENT_T_DEB_$suffix=(\"\${AGENT_T[@]}\"); RPM_T_DEB_$suffix=(\"\${RPM_T[@]}\"); RATIO_T_DEB_$suffix=(\"\${RATIO_T[@]}\"); SPLIT_DEB_$suffix=\$SPLIT_MED"
        fi
        if [ "$DBPATHS" != debian ]; then
            LITERAL_HOME="$WORK/literal-dbpath-home"
            mkdir -p "$LITERAL_HOME"
            echo "%_dbpath /var/lib/rpm" >"$LITERAL_HOME/.rpmmacros"
            overhead_runs "lit-$pf" "$LITERAL_HOME"
            eval "AGENT_T_LIT_$suffix=(\"\${AGENT_T[@]}\"); RPM_T_LIT_$suffix=(\"\${RPM_T[@]}\"); RATIO_T_LIT_$suffix=(\"\${RATIO_T[@]}\"); SPLIT_LIT_$suffix=\$SPLIT_MED"
        fi
    done
    AGENT_PREFETCH=true
    stop_pid "$CTL_PID"
}

# install_report: part 3's lines and rows (ROWS is filled for the summary table).
install_report() {
    local v label agent_t rpm_t ratio_t split agent_med rpm_med ratio_med pf
    printf '\n3. 10 x 1 MiB RPMs, %d runs per %%_dbpath variant; host-install = request -> the controller has the\n' "$RUNS"
    printf '   agent'"'"'s success report (seen in the agent'"'"'s log, then checked in the host table); rpm -U = the rpm\n'
    printf '   process; each into a fresh copy of one root\n'
    for v in DEB_PF LIT_PF DEB_NOPF LIT_NOPF; do
        eval "agent_t=(\"\${AGENT_T_$v[@]}\")"
        [ "${#agent_t[@]}" -gt 0 ] || continue
        if [ "${v#*_}" = PF ]; then pf="prefetch on"; else pf="prefetch off"; fi
        eval "rpm_t=(\"\${RPM_T_$v[@]}\"); ratio_t=(\"\${RATIO_T_$v[@]}\"); split=\$SPLIT_$v"
        if [ "${v%_*}" = DEB ]; then label="Debian's %_dbpath ($(rpm --eval '%_dbpath'), computed by a shell), $pf"; else label="literal %_dbpath (/var/lib/rpm), $pf"; fi
        agent_med=$(printf '%.3f' "$(median "${agent_t[@]}")"); rpm_med=$(printf '%.3f' "$(median "${rpm_t[@]}")")
        ratio_med=$(printf '%.2f' "$(echo "scale=4; $agent_med / $rpm_med" | bc)")
        printf '   %s:\n' "$label"
        printf '     host-install  median %s s, spread %s s  (%s)\n' "$agent_med" "$(spread "${agent_t[@]}")" "$(printf '%.3f ' "${agent_t[@]}" | sed 's/ $//')"
        printf '     rpm -U        median %s s, spread %s s  (%s)\n' "$rpm_med" "$(spread "${rpm_t[@]}")" "$(printf '%.3f ' "${rpm_t[@]}" | sed 's/ $//')"
        printf '     ratio of the medians %sx; per-run ratios median %.2fx, spread %.2f-%.2fx\n' "$ratio_med" \
            "$(median "${ratio_t[@]}")" "$(printf '%s\n' "${ratio_t[@]}" | sort -g | head -1)" "$(maximum "${ratio_t[@]}")"
        printf '     agent phases, median ms: %s\n' "${split:-(no install timing in the agent log)}"
        ROWS+=("host-install / rpm -U, $([ "${v%_*}" = DEB ] && echo "Debian" || echo "literal") %_dbpath, $pf (median of $RUNS)|${ratio_med}x|<= 1.2x|$(verdict "$ratio_med" '<=' 1.2)")
        ROWS+=("  spread of the per-run ratios|$(printf '%.2f-%.2fx' "$(printf '%s\n' "${ratio_t[@]}" | sort -g | head -1)" "$(maximum "${ratio_t[@]}")")|-|info")
    done
}

# ==== run and report ===========================================================================
ROWS=()
if [ "$ONLY_INSTALL" = 0 ]; then
    ulimit -n "$(ulimit -Hn)"
    [ "$(ulimit -n)" -ge $((2 * HOSTS + 256)) ] ||
        die "the controller needs $((2 * HOSTS + 256)) descriptors for $HOSTS agents (two connections each); ulimit -Hn is $(ulimit -Hn)"
    fleet_part
    real_agents_part
fi
install_part

printf '\nMachine: %s, %s cores, load average %s at the start, %s at the end\n' \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$LOAD_AT_START" "$(cut -d' ' -f1 /proc/loadavg)"
if [ "$ONLY_INSTALL" = 0 ]; then
    q_med=$(median "${QH[@]}"); q_max=$(maximum "${QH[@]}")
    qj_med=$(median "${QJ[@]}")
    rss0_med=$(median "${RSS0[@]}"); rss0_max=$(maximum "${RSS0[@]}")
    rss1_med=$(median "${RSS1[@]}"); rss1_max=$(maximum "${RSS1[@]}")
    inc_ratio=$(echo "scale=2; $cpu5 / $cpu1" | bc)
    printf '%d simulated agents (one loadgen process sharing the cores with the controller), %d real agents\n' "$HOSTS" "$AGENTS"

    printf '\n1. One controller, %d simulated agents (2 connections each, polls held %s s)\n' "$HOSTS" 25
    printf '   enrol + hello + first reports: %d hosts in %s s, %d more in %s s\n' "$FIRST" \
        "$(grep "^ready $FIRST " "$LG_OUT" | awk '{print $3}')" $((HOSTS - FIRST)) "$join_s"
    printf '   steady: controller %s %% of a core, loadgen %s %%; %s threads, %s descriptors\n' \
        "$steady_cpu" "$steady_lg_cpu" "$steady_threads" "$steady_fds"
    printf '   query-hosts runs (ms): %s; the REST call alone (curl): median %s ms for %d bytes\n' "${QH[*]}" "$qj_med" "$qh_bytes"
    printf '   %-12s %9s %9s %8s %12s %10s %15s %13s %11s\n' "apply with" "apply ms" "told ms" "wave s" "apply->all s" \
        "reports/s" "ctl CPU/report" "loadgen CPU s" "others' s"
    printf '   %-12s %9s\n' "0 hosts" "$apply0_ms"
    printf '   %-12s %9s %9s %8s %12s %10s %12s ms %13s %11s\n' "$FIRST hosts" "$apply1_ms" "$told1_ms" "$wave1_s" "$total1_s" \
        "$rate1" "$cpu1" "$lgcpu1" "$other1"
    printf '   %-12s %9s %9s %8s %12s %10s %12s ms %13s %11s\n' "$HOSTS hosts" "$apply5_ms" "$told5_ms" "$wave5_s" "$total5_s" \
        "$rate5" "$cpu5" "$lgcpu5" "$other5"
    printf '   (apply ms: sw-patch apply; told ms: until the first agent hears of it; wave: first agent told ->\n'
    printf '   every agent reported; others'"'"': CPU used meanwhile by processes other than the controller and the loadgen)\n'
    printf '   (a report = the agent'"'"'s repomd/primary/comps GETs + the authenticated report; report round trip in the %d-host wave: p50 %s ms, p99 %s ms)\n' \
        "$HOSTS" "$p50_5" "$p99_5"
    printf '   controller RSS: %s MiB steady, %s MiB after the queries and apply waves (peak %s MiB); loadgen errors: %s\n' \
        "$steady_rss" "$end_rss" "$end_hwm" "${lg_errors:-?}"
    printf '\n2. %d real agents: apply -> all reported %s s; host-install of all -> Applied %s s\n' "$AGENTS" "$reported_s" "$installed_s"
    printf '   %d of %d agents were still running 2 s after SIGTERM (stop() waits for the held poll) and were killed\n' \
        "$slow_stops" "$AGENTS"
fi
install_report
if [ "$ONLY_INSTALL" = 0 ]; then
    printf '\n4. idle agent VmRSS (MiB): after its first report median %s, max %s; after host-install median %s, max %s\n' \
        "$rss0_med" "$rss0_max" "$rss1_med" "$rss1_max"
fi

printf '\n%-62s %14s %12s %s\n' "figure" "measured" "target" "verdict"
row() { printf '%-62s %14s %12s %s\n' "$1" "$2" "$3" "$4"; }
if [ "$ONLY_INSTALL" = 0 ]; then
    row "sw-patch query-hosts, $HOSTS hosts (median / max of 10)" "$q_med / $q_max ms" "<= 300 ms" "$(verdict "$q_med" '<=' 300)"
    row "controller RSS, $HOSTS agents connected (steady)" "$steady_rss MiB" "<= 200 MiB" "$(verdict "$steady_rss" '<=' 200)"
    row "controller RSS after 16 query_hosts calls and the apply waves" "$end_rss MiB" "<= 200 MiB" "$(verdict "$end_rss" '<=' 200)"
    row "controller CPU, steady polling (% of one core)" "$steady_cpu %" "-" "info"
    row "apply with $HOSTS hosts (sw-patch apply; 0 hosts: $apply0_ms ms)" "$apply5_ms ms" "-" "info"
    row "$HOSTS hosts re-report after apply (first told -> all)" "$wave5_s s" "-" "info"
    row "controller throughput in the re-report wave" "$rate5 reports/s" "-" "info"
    row "incremental: CPU/report at $HOSTS vs $FIRST hosts" "${inc_ratio}x" "<= 1.5x" "$(verdict "$inc_ratio" '<=' 1.5)"
    row "$AGENTS agents: apply -> all reported, Partial-Apply" "$reported_s s" "<= 3 s" "$(verdict "$reported_s" '<=' 3)"
    row "$AGENTS agents: host-install all -> Applied" "$installed_s s" "-" "info"
fi
for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d <<<"$r"
    row "$a" "$b" "$c" "$d"
done
if [ "$ONLY_INSTALL" = 0 ]; then
    row "idle patch-agent VmRSS (max of $AGENTS, after host-install)" "$rss1_max MiB" "<= 20 MiB" "$(verdict "$rss1_max" '<=' 20)"
fi
printf '\nTotal: %d s\n' $(($(date +%s) - BENCH_START))
