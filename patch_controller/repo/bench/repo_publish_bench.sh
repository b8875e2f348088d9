#!/usr/bin/env bash
# Benchmark: RepositoryPublisher on a repository of N tiny RPMs (default 1000): initial publish,
# add one package, remove one, no change, comps-only change; next to createrepo_c baselines
# (a full run, and the reference's in-place `createrepo --update` after adding one package).
#
# Usage: patch_controller/repo/bench/repo_publish_bench.sh [-n N] [-r RUNS] [-l] [-b BUILD_DIR]
#   N defaults to 1000, RUNS to 3 (best and worst reported); -l adds the 10 x 50 MiB RPMs of
#   make-test-rpms.sh large (bench/out/large/) to the base set; BUILD_DIR defaults to build/release
#   (configured and built here if missing; needs patch_controller/ in the top-level build).
#   The N+1 RPMs are built once with rpmbuild from fixtures/test-rpm.spec (64-byte text
#   payloads, about a minute for 1000 on 2 cores) and cached in bench/out/repo-rpms/.
# Target: adding one package to a repository of 1000 in well under 1 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
N=1000
RUNS=3
BUILD="$HERE/build/release"
LARGE=""
while getopts "n:r:lb:h" opt; do
    case "$opt" in
        n) N="$OPTARG" ;;
        r) RUNS="$OPTARG" ;;
        l) LARGE="$HERE/bench/out/large" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done
source "$HERE/scripts/lib.sh"
need_tools cmake ninja rpmbuild createrepo_c

RPMS="$HERE/bench/out/repo-rpms"
mkdir -p "$RPMS"
build_rpm() {
    local name="$1" top
    [ -f "$RPMS/$name-1.0-1.noarch.rpm" ] && return 0
    top="$(mktemp -d)"
    SOURCE_DATE_EPOCH=1700000000 rpmbuild -bb --quiet --define "_topdir $top" \
        --define "pkgname $name" --define "pkgver 1.0" --define "pkgrel 1" \
        --define "payload_kind text" --define "payload_bytes 64" \
        --define "_buildhost bench.localdomain" --define "use_source_date_epoch_as_buildtime 1" \
        --define "clamp_mtime_to_source_date_epoch 1" --define "_build_id_links none" \
        "$SHARED/fixtures/test-rpm.spec" >/dev/null
    mv "$top/RPMS/noarch/$name-1.0-1.noarch.rpm" "$RPMS/"
    rm -rf "$top"
}
export -f build_rpm
export RPMS SHARED
have=$(find "$RPMS/" -name 'bench-*.rpm' | wc -l)
if [ "$have" -le "$N" ]; then
    echo "building $((N + 1 - have)) more bench RPMs into $RPMS ..." >&2
    seq -f 'bench-%04g' 0 "$N" | xargs -P "$(nproc)" -I{} bash -c 'build_rpm {}'
fi
# Exactly the first N+1 names, so a larger cache from an earlier run does not change N.
SUBSET="$HERE/bench/out/repo-rpms-$N"
rm -rf "$SUBSET"
mkdir -p "$SUBSET"
for i in $(seq -f '%04g' 0 "$N"); do ln "$RPMS/bench-$i-1.0-1.noarch.rpm" "$SUBSET/"; done

if [ -n "$LARGE" ] && [ "$(find "$LARGE/" -name '*.rpm' 2>/dev/null | wc -l)" -ne 10 ]; then
    echo "generating 10 x 50 MiB RPMs (make-test-rpms.sh large)..." >&2
    bash "$SHARED/fixtures/make-test-rpms.sh" -o "$HERE/bench/out" large >/dev/null
fi
if [ ! -f "$BUILD/build.ninja" ] && [ ! -f "$BUILD/Makefile" ]; then
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DPATCHING_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target repo_publish_bench >/dev/null
# The work tree sits beside the RPMs (same file system), so packages are hard-linked: the
# publisher's fast path when the package store and the repo share a file system.
"$BUILD/patch_controller/repo/repo_publish_bench" \
    "$SUBSET" "$HERE/bench/out/repo-work" "$N" "$RUNS" ${LARGE:+"$LARGE"}
rm -rf "$SUBSET"
