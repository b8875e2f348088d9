#!/usr/bin/env bash
# The main job end to end: install dependencies, build, make sample RPMs and a signing key,
# build a signed patch, verify it against a trust directory, and show it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$HERE/../shared"
bash "$HERE/scripts/install-deps.sh"
# Only the five programs the demo runs (the test suites are built by scripts/test.sh).
printf '\033[1m== Build patch-keys, patch-build, patch-controller, sw-patch, patch-agent\033[0m\n'
SECONDS=0
bash "$HERE/scripts/build.sh" patch-keys patch-build patch-controller sw-patch patch-agent >/dev/null
echo "built in ${SECONDS} s"
BIN="${BUILD_DIR:-$HERE/build/release}"
WORK="$(mktemp -d /tmp/patching-demo.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Make sample RPMs (real rpmbuild, reproducible)" bash "$SHARED/fixtures/make-test-rpms.sh" -o "$WORK/rpms" -p demo small
step "Generate a release signing key" "$BIN/signing/patch-keys" genkey --bits 3072 -o "$WORK/release-key.pem"
mkdir -p "$WORK/trust"
step "Issue a self-signed certificate for it" "$BIN/signing/patch-keys" gencert --key "$WORK/release-key.pem" \
    --cn "Demo release signing" --org "Demo" --days 365 -o "$WORK/trust/release.pem"
step "Build and sign a patch" "$BIN/patch_build/patch-build" --id DEMO_22.12_PATCH_0001 --release 22.12 \
    --summary "Fix alpha, add delta" --desc "Demonstration patch" --status DEV --reboot-required N \
    --controller "$WORK/rpms/small/demo-alpha-1.0-2.noarch.rpm" --worker "$WORK/rpms/small/demo-delta-1.0-1.noarch.rpm" \
    --sign-key "$WORK/release-key.pem" --cert "$WORK/trust/release.pem" -o "$WORK"
step "Verify it against the trust directory" "$BIN/patch_build/patch-build" verify --trust-dir "$WORK/trust" \
    "$WORK/DEMO_22.12_PATCH_0001.patch"
step "Show its metadata (query_patch)" "$BIN/patch_build/patch-build" query --trust-dir "$WORK/trust" \
    --file "$WORK/DEMO_22.12_PATCH_0001.patch"
step "Release it: status DEV -> REL, re-signed (modify_patch)" "$BIN/patch_build/patch-build" modify --released \
    --sign-key "$WORK/release-key.pem" --trust-dir "$WORK/trust" --file "$WORK/DEMO_22.12_PATCH_0001.patch"
step "The reference implementation's fixtures verify too" "$BIN/patch_build/patch-build" verify \
    --cert "$SHARED/fixtures/keys/fixture-signing-cert.pem" "$SHARED"/fixtures/stx/*.patch
printf '\n== A tampered patch is refused\n'
cp "$SHARED/fixtures/bad/path-traversal-validly-signed.patch" "$WORK/FIX_22.12_PATCH_0001.patch"
if "$BIN/patch_build/patch-build" verify --cert "$SHARED/fixtures/keys/fixture-signing-cert.pem" \
    "$WORK/FIX_22.12_PATCH_0001.patch"; then
    echo "ERROR: a hostile patch was accepted" >&2
    exit 1
fi
# --- The controller: store, publish and track the patch -------------------------------------
CTL_DIR="$WORK/controller"
mkdir -p "$CTL_DIR"/{feed/rel-22.12/Packages,trust,state,repo}
cp "$WORK"/rpms/small/demo-{alpha,beta,gamma}-1.0-1.noarch.rpm "$CTL_DIR/feed/rel-22.12/Packages/"
cp "$WORK/trust/release.pem" "$CTL_DIR/trust/"
cat >"$CTL_DIR/controller.conf" <<CONF
[controller]
state_dir = $CTL_DIR/state
repo_dir = $CTL_DIR/repo
feed_dir = $CTL_DIR/feed
trust_dir = $CTL_DIR/trust
running_release = 22.12
listen_port = 0
tokens_file = $CTL_DIR/tokens
local_token_file = $CTL_DIR/admin.token
CONF
printf '\n\033[1m== Start the patch controller (base release 22.12 = demo-alpha/beta/gamma 1.0-1)\033[0m\n'
"$BIN/patch_controller/patch-controller" --config "$CTL_DIR/controller.conf" >"$CTL_DIR/controller.log" 2>&1 &
CTL_PID=$!
trap 'kill $CTL_PID 2>/dev/null; wait $CTL_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$CTL_DIR/state/api.port" ] && break; sleep 0.1; done
export SW_PATCH_CONTROLLER="http://127.0.0.1:$(cat "$CTL_DIR/state/api.port")"
export SW_PATCH_TOKEN_FILE="$CTL_DIR/admin.token"
cat "$CTL_DIR/controller.log"
SWP="$BIN/sw_patch/sw-patch"
step "Upload the patch" "$SWP" upload "$WORK/DEMO_22.12_PATCH_0001.patch"
step "Query" "$SWP" query
step "Apply it: its RPMs enter the release's dnf repository" "$SWP" apply DEMO_22.12_PATCH_0001
step "Query" "$SWP" query
step "Show" "$SWP" show DEMO_22.12_PATCH_0001
if command -v dnf >/dev/null; then
    step "dnf installs the patched package from the controller's repository into a scratch root" \
        dnf -y -q --installroot="$WORK/root" --releasever=1 --setopt=reposdir=/dev/null \
        --repofrompath=patches,"$SW_PATCH_CONTROLLER/updates/rel-22.12" --repo=patches --nogpgcheck install demo-alpha
    step "rpmdb of the scratch root" rpm --root="$WORK/root" -q demo-alpha
fi
step "Remove it again" "$SWP" remove DEMO_22.12_PATCH_0001
step "Query" "$SWP" query

# --- Agents: three hosts, each managing its own root with its own rpmdb ----------------------
printf '\n\033[1m== Start three patch agents (controller-0, worker-0, storage-0), each with its own root\033[0m\n'
echo "demo-enrolment-$RANDOM$RANDOM" >"$CTL_DIR/enrol.token"
# The controller re-reads its configuration at start: enable self-enrolment and quick stale marking.
kill "$CTL_PID"; wait "$CTL_PID" 2>/dev/null || true
cat >>"$CTL_DIR/controller.conf" <<CONF
enrolment_token_file = $CTL_DIR/enrol.token
agent_poll_seconds = 5
agent_stale_seconds = 12
CONF
rm -f "$CTL_DIR/state/api.port"
"$BIN/patch_controller/patch-controller" --config "$CTL_DIR/controller.conf" >>"$CTL_DIR/controller.log" 2>&1 &
CTL_PID=$!
AGENT_PIDS=()
trap 'kill ${AGENT_PIDS[@]+"${AGENT_PIDS[@]}"} $CTL_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$CTL_DIR/state/api.port" ] && break; sleep 0.1; done
export SW_PATCH_CONTROLLER="http://127.0.0.1:$(cat "$CTL_DIR/state/api.port")"
for host in controller-0:controller worker-0:worker storage-0:storage; do
    name="${host%%:*}"
    personality="${host##*:}"
    hdir="$WORK/hosts/$name"
    mkdir -p "$hdir/root"
    # The host's base install: the release's packages (what a freshly installed host has).
    rpm --root="$hdir/root" -i --nodeps "$CTL_DIR"/feed/rel-22.12/Packages/*.rpm 2>/dev/null
    cat >"$hdir/agent.conf" <<CONF
[agent]
hostname = $name
personality = $personality
sw_version = 22.12
controller_url = $SW_PATCH_CONTROLLER
root = $hdir/root
state_dir = $hdir/state
enrolment_token_file = $CTL_DIR/enrol.token
CONF
    "$BIN/patch_agent/patch-agent" --config "$hdir/agent.conf" >"$hdir/agent.log" 2>&1 &
    AGENT_PIDS+=($!)
done
# Wait until all three have enrolled and reported.
for _ in $(seq 100); do
    [ "$("$SWP" query-hosts | grep -c ' 22.12 ')" -ge 3 ] && break
    sleep 0.1
done
step "The hosts report to the controller (authenticated long polls, no open agent port)" "$SWP" query-hosts
step "Apply the patch again" "$SWP" apply DEMO_22.12_PATCH_0001
sleep 0.5
step "Query: Partial-Apply until every host has installed it" "$SWP" query
step "Hosts: all out of date now" "$SWP" query-hosts
step "Install on controller-0 (in-service patch: no lock needed)" "$SWP" host-install controller-0
step "Query" "$SWP" query
step "Hosts" "$SWP" query-hosts
step "Install on worker-0" "$SWP" host-install worker-0
step "Install on storage-0" "$SWP" host-install storage-0
step "Query: Applied, every host has it" "$SWP" query
step "Hosts: all current" "$SWP" query-hosts
step "worker-0's rpmdb: demo-alpha upgraded, demo-delta (worker package) added" \
    rpm --root="$WORK/hosts/worker-0/root" -q demo-alpha demo-delta
step "Remove the patch" "$SWP" remove DEMO_22.12_PATCH_0001
sleep 0.5
step "Query: Partial-Remove until the hosts are back to the base" "$SWP" query
for name in controller-0 worker-0 storage-0; do
    step "Install on $name (back to the base versions)" "$SWP" host-install "$name"
done
step "Query: Available again" "$SWP" query
step "Hosts" "$SWP" query-hosts
step "worker-0's rpmdb: demo-alpha back to 1.0-1, demo-delta gone" \
    rpm --root="$WORK/hosts/worker-0/root" -qa
printf '\n\033[1m== storage-0 stops answering: it is marked stale after agent_stale_seconds (12 s here)\033[0m\n'
kill -STOP "${AGENT_PIDS[2]}"
for _ in $(seq 400); do "$SWP" query-hosts | grep -q stale && break; sleep 0.1; done
step "Hosts" "$SWP" query-hosts
kill -CONT "${AGENT_PIDS[2]}"

printf '\nDemo finished.\n'
