# SPDX-License-Identifier: Apache-2.0
# Shared by the benchmarks that start controllers (sourced; bash). The caller sets CTL (the
# patch-controller binary), PB (patch-build), KEY (the fixture signing key), SHARED (../shared),
# WORK (a scratch directory it owns) and BENCH_NAME, and may add to PIDS.
# --- processes and cleanup ----------------------------------------------------------------------
PIDS=()     # everything started here, killed by PID on exit
CTL_PID=""
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { printf '[%3ds] %s\n' $(($(date +%s) - BENCH_START)) "$*" >&2; }
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# stop_agents PID...: SIGTERM, then SIGKILL whatever still runs 2 s later (an agent finishes its
# held long poll before it exits, up to poll_wait_seconds); sets KILLED to how many needed it.
stop_agents() {
    local pid i alive
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 40; i++)); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
        [ "$alive" = 0 ] && break
        sleep 0.05
    done
    KILLED=0
    for pid in "$@"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            KILLED=$((KILLED + 1))
        fi
        wait "$pid" 2>/dev/null || true
    done
}

now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000 / 1" | bc; }
secs() { printf '%.2f' "$(echo "$2 - $1" | bc -l)"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
rss_mib() { awk '/^VmRSS/{printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
maximum() { printf '%s\n' "$@" | sort -g | tail -1; }
# verdict MEASURED OP TARGET -> OK/FAIL (OP is <= or >=)
verdict() { if [ "$(echo "$1 $2 $3" | bc -l)" = 1 ]; then echo OK; else echo FAIL; fi; }

# wait_count FILE REGEX N TIMEOUT_S PID: until FILE has N lines matching REGEX (PID must live).
wait_count() {
    local file="$1" re="$2" n="$3" timeout="$4" pid="$5" i c
    for ((i = 0; i < timeout * 50; i++)); do
        c="$(grep -cE "$re" "$file" 2>/dev/null || true)"   # the file may not exist yet
        [ "${c:-0}" -ge "$n" ] && return 0
        kill -0 "$pid" 2>/dev/null || { tail -20 "$file" >&2; die "process $pid died waiting for '$re' in $file"; }
        sleep 0.02
    done
    tail -20 "$file" >&2
    die "timed out after ${timeout}s waiting for $n x '$re' in $file"
}

# new_controller DIR BASE_RPM...: a controller with self-enrolment, base feed = the RPMs; started.
# CONTROLLER_EXTRA: more "key = value" lines for its [controller] section.
new_controller() {
    local dir="$1"
    shift
    mkdir -p "$dir"/{feed/rel-22.12/Packages,trust,state,repo}
    cp "$@" "$dir/feed/rel-22.12/Packages/"
    cp "$SHARED/fixtures/keys/fixture-signing-cert.pem" "$dir/trust/"
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/enrolment.token"
    cat >"$dir/controller.conf" <<CONF
[controller]
state_dir = $dir/state
repo_dir = $dir/repo
feed_dir = $dir/feed
trust_dir = $dir/trust
running_release = 22.12
listen_port = 0
tokens_file = $dir/tokens
local_token_file = $dir/admin.token
enrolment_token_file = $dir/enrolment.token
# The simulated fleet shares one address: no per-peer connection cap.
max_connections_per_peer = 0
${CONTROLLER_EXTRA:-}
CONF
    "$CTL" --config "$dir/controller.conf" >"$dir/controller.log" 2>&1 &
    CTL_PID=$!
    PIDS+=("$CTL_PID")
    for _ in $(seq 200); do
        [ -s "$dir/state/api.port" ] && break
        kill -0 "$CTL_PID" 2>/dev/null || { cat "$dir/controller.log" >&2; die "the controller did not start"; }
        sleep 0.05
    done
    [ -s "$dir/state/api.port" ] || die "the controller did not write api.port"
    export SW_PATCH_CONTROLLER="http://127.0.0.1:$(cat "$dir/state/api.port")"
    export SW_PATCH_TOKEN_FILE="$dir/admin.token"
}

# make_patch ID RPM...: a signed in-service (RR=N) patch for every personality -> $WORK/ID.patch
make_patch() {
    local id="$1" args=()
    shift
    for r in "$@"; do args+=(--all-nodes "$r"); done
    SOURCE_DATE_EPOCH=1700000000 "$PB" --id "$id" --release 22.12 --status REL --reboot-required N \
        --sign-key "$KEY" -o "$WORK" "${args[@]}" >/dev/null
}


# tiny_patches N: N signed patches (BENCH_22.12_PATCH_0000...), one tiny RPM each, built once and
# cached under $OUT (RPMS=$OUT/repo-rpms, shared with patch_controller/repo/bench/repo_publish_bench.sh;
# PATCHES=$OUT/controller-patches). Needs OUT, SHARED, PB, KEY.
tiny_patches() {
    local n="$1" i name id top announced=""
    RPMS="$OUT/repo-rpms"
    mkdir -p "$RPMS"
    top="$(mktemp -d)"
    for ((i = 0; i < n; i++)); do
        name=$(printf "bench-%04d" "$i")
        [ -f "$RPMS/$name-1.0-1.noarch.rpm" ] && continue
        [ "$i" = 0 ] || [ -n "${announced:-}" ] || { echo "building tiny RPMs with rpmbuild (cached in $RPMS)..." >&2; announced=1; }
        SOURCE_DATE_EPOCH=1700000000 rpmbuild -bb --quiet --define "_topdir $top" \
            --define "pkgname $name" --define "pkgver 1.0" --define "pkgrel 1" \
            --define "payload_kind text" --define "payload_bytes 64" \
            --define "_build_id_links none" "$SHARED/fixtures/test-rpm.spec" >/dev/null 2>&1
        mv "$top/RPMS/noarch/$name-1.0-1.noarch.rpm" "$RPMS/"
    done
    rm -rf "$top"
    PATCHES="$OUT/controller-patches"
    mkdir -p "$PATCHES"
    if [ "$(ls "$PATCHES" | wc -l)" -lt "$n" ]; then
        echo "building $n patches..." >&2
        for ((i = 0; i < n; i++)); do
            id=$(printf "BENCH_22.12_PATCH_%04d" "$i")
            [ -f "$PATCHES/$id.patch" ] && continue
            SOURCE_DATE_EPOCH=1700000000 "$PB" --id "$id" --release 22.12 --status REL --reboot-required N \
                --controller "$RPMS/$(printf "bench-%04d" "$i")-1.0-1.noarch.rpm" --sign-key "$KEY" -o "$PATCHES" >/dev/null
        done
    fi
}
