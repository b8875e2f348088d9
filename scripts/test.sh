#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test suite (unit and end-to-end). CI (.ci/run)
# runs this under strace, then checks the packages it used and that nothing was skipped.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$HERE/scripts/install-deps.sh"
bash "$HERE/scripts/build.sh"
cd "${BUILD_DIR:-$HERE/build/release}"
ctest --output-on-failure -j "$(nproc)" --timeout 600
