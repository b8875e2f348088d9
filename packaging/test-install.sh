#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, checked as an operator would meet them (CI runs this):
#  1. builds them (cpack) from the build tree, runs lintian (overrides in packaging/lintian/ say
#     why each remaining tag stays) and systemd-analyze verify on the units, and compares each
#     package's file list with packaging/expected/<package>.contents;
#  2. installs them with apt-get into a fresh Debian 12 root (debootstrap), where
#     packaging/tests/install_walk.sh checks what the maintainer scripts made, starts the
#     controller and an agent as their units say (run_unit.py: User=, a NOTIFY_SOCKET, READY=1,
#     watchdog pings), walks a patch to Applied, stops an agent mid-transaction, and checks
#     reinstall, remove and purge.
# usage: packaging/test-install.sh [BUILD_DIR]     (run as root; BUILD_DIR default build/release)
#   KEEP=1 keeps the root ($FRESH_DIR/package-root) for a look inside.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$HERE/../shared" && pwd)"
BUILD="${1:-${BUILD_DIR:-$HERE/build/release}}"
source "$HERE/scripts/lib.sh"
source "$HERE/scripts/fresh_root_lib.sh"
need_tools cpack dpkg-shlibdeps lintian dpkg-deb debootstrap systemd-analyze

echo "== packages (cpack)"
rm -f "$BUILD"/patching-*.deb
cmake --build "$BUILD" --target patch-controller patch-agent sw-patch patch-build patch-keys package_changelogs >/dev/null
(cd "$BUILD" && cpack -G DEB >"$BUILD/cpack.log" 2>&1) || { tail -20 "$BUILD/cpack.log" >&2; exit 1; }
debs=("$BUILD"/patching-*.deb)
for deb in "${debs[@]}"; do
    echo "  $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done

echo "== lintian"
lint_rc=0
lint_out="$(lintian --fail-on error,warning --tag-display-limit 0 "${debs[@]}" 2>&1)" || lint_rc=$?
# CI runs as root; lintian's note about that is not a finding about the packages.
grep -v 'running with root privileges' <<<"$lint_out" || true
[ "$lint_rc" -eq 0 ] || { echo "FAILED: lintian reports the tags above (exit $lint_rc)" >&2; exit 1; }

echo "== systemd-analyze verify (the units, against the packaged files and this machine's system units)"
units="$(mktemp -d)"
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$units"; done
cp -an /lib/systemd/system/. "$units/lib/systemd/system/"
# It exits 0 on a key it ignores; any line it prints is a finding.
verify_out="$(cd "$units" && systemd-analyze --root="$units" verify /lib/systemd/system/patch-controller.service \
    /lib/systemd/system/patch-agent.service 2>&1)" || verify_out="${verify_out:-systemd-analyze verify failed}"
rm -rf "$units"
[ -z "$verify_out" ] || { echo "$verify_out"; echo "FAILED: systemd-analyze verify" >&2; exit 1; }

echo "== contents"
status=0
for deb in "${debs[@]}"; do
    package="$(dpkg-deb -f "$deb" Package)"
    expected="$HERE/packaging/expected/$package.contents"
    # mode owner path, as dpkg-deb lists them (sizes and dates change with every build).
    if ! diff -u "$expected" <(dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}'); then
        echo "FAILED: $package's files differ from $expected (update it if the change is meant)" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] || exit 1

echo "== install into a fresh Debian 12 root"
fresh_base
trap fresh_unmount_all EXIT
root="$FRESH/package-root"
fresh_root "$root"
mkdir -p "$root/work/debs" "$root/work/fixtures"
cp "${debs[@]}" "$root/work/debs/"
cp -a "$SHARED/fixtures/." "$root/work/fixtures/"
cp "$HERE/packaging/tests/install_walk.sh" "$HERE/packaging/tests/run_unit.py" "$root/work/"
rc=0
chroot "$root" "${FRESH_ENV[@]}" bash /work/install_walk.sh || rc=$?
fresh_unmount_all
[ "${KEEP:-0}" = 1 ] || rm -rf "$root"
if [ "$rc" -ne 0 ]; then
    echo "FAILED: the install walk (packaging/tests/install_walk.sh) exited $rc" >&2
    exit 1
fi
echo "packages: lintian clean, contents as expected, install walk passed"
