#!/usr/bin/env bash
# The main job end to end: install dependencies, build, make sample RPMs and a signing key,
# build a signed patch, verify it against a trust directory, and show it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$HERE/../shared"
bash "$HERE/scripts/install-deps.sh"
bash "$HERE/scripts/build.sh" >/dev/null
BIN="$HERE/build/release"
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
step "Hosts (agents come with issue #4)" "$SWP" query-hosts

printf '\nDemo finished.\n'
