#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proof that scripts/check_packages.py catches a missing package: with one package taken out of a
# copy of the install list, the check must fail and name both that package and the file that
# needs it. Run by .ci/run after the real check, on the same build and trace.
#   usage: check_packages_test.sh BUILD_DIR TESTS_STRACE_LOG
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$1"
TRACE="$2"
WORK="$(mktemp -d /tmp/check-packages-test.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
failures=0

# expect_missing NAME PACKAGE FILE_PATTERN CHECK_ARGS...: the check, run with PACKAGE removed from
# the list, exits 1 and names PACKAGE and a file matching FILE_PATTERN on one line.
expect_missing() {
    local name="$1" package="$2" pattern="$3"
    shift 3
    grep -Ev "^${package}([[:space:]#]|$)" "$HERE/scripts/packages.txt" >"$WORK/packages.txt"
    if cmp -s "$WORK/packages.txt" "$HERE/scripts/packages.txt"; then
        echo "not ok - $name: $package is not in scripts/packages.txt, so the test proves nothing"
        failures=$((failures + 1))
        return
    fi
    local rc=0
    python3 "$HERE/scripts/check_packages.py" --packages "$WORK/packages.txt" --verbose \
        --own-dir "$HERE" --own-dir "$HERE/../shared" "$@" >"$WORK/out.txt" 2>&1 || rc=$?
    local found
    found=$(grep -E "$pattern" "$WORK/out.txt" | grep -F -- "[$package]" || true)
    if [ "$rc" -eq 1 ] && [ -n "$found" ]; then
        echo "ok - $name: ${found%%$'\n'*}"
    else
        echo "not ok - $name: expected exit 1 naming $package and a file matching '$pattern'; got exit $rc:"
        sed 's/^/    /' "$WORK/out.txt" | head -20
        failures=$((failures + 1))
    fi
}

# A CMake package configuration file (the mistake that started this: boost_url).
expect_missing "CMake package file" libboost-url1.81-dev 'boost_url[^ ]*config\.cmake' --build-dir "$BUILD"
# A header in the compiler's dependency output.
expect_missing "header" nlohmann-json3-dev '/usr/include/nlohmann/[^ ]*\.hpp' --build-dir "$BUILD"
# A library on a link line.
expect_missing "link library" libarchive-dev 'libarchive\.so' --build-dir "$BUILD"
# A tool the tests run.
expect_missing "tool run by the tests" createrepo-c '/usr/bin/createrepo_c' --trace "$TRACE"
# A tool a benchmark declares.
expect_missing "tool a benchmark declares" bc '/usr/bin/bc' --declared-tools "$HERE/bench/agent_bench.sh"

# A file that belongs to no package fails with its name, whatever the list holds.
printf '1 execve("/usr/local/bin/patching-unpackaged-tool", ["patching-unpackaged-tool"], 0x0 /* 1 var */) = 0\n' \
    >"$WORK/unpackaged.strace"
rc=0
python3 "$HERE/scripts/check_packages.py" --packages "$HERE/scripts/packages.txt" \
    --trace "$WORK/unpackaged.strace" >"$WORK/out.txt" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && grep -q '/usr/local/bin/patching-unpackaged-tool: no Debian package provides it' "$WORK/out.txt"; then
    echo "ok - a file of no package is named"
else
    echo "not ok - a file of no package: expected exit 1 naming it; got exit $rc:"
    sed 's/^/    /' "$WORK/out.txt"
    failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
    echo "check_packages_test: $failures case(s) failed"
    exit 1
fi
echo "check_packages_test: all cases passed"
