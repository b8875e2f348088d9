#!/usr/bin/env bash
# Configures and builds into $BUILD_DIR (default build/release: Release, tests configured).
#   usage: scripts/build.sh [TARGET...]     (no targets: everything, tests included)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$HERE/build/release}"
# Unity builds (up to 16 sources compiled as one, so each header is parsed once per batch) make a
# from-scratch build about twice as fast; the dev presets leave them off for quick rebuilds.
cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" -DCMAKE_UNITY_BUILD=ON \
    -DPATCHING_FIXTURES_DIR="${PATCHING_FIXTURES_DIR:-$HERE/../shared/fixtures}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD" -j "$(nproc)" ${targets[@]+"${targets[@]}"}
