#!/usr/bin/env bash
# Configures and builds into build/<preset-like dir> (default build/release, Release with tests).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$HERE/build/release}"
cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
    -DPATCHING_FIXTURES_DIR="${PATCHING_FIXTURES_DIR:-$HERE/../shared/fixtures}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
