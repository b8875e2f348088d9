#!/usr/bin/env bash
# Benchmark: build and verify a patch of ten 50 MiB incompressible RPMs (make-test-rpms.sh large),
# next to plain-tool baselines on the same bytes, so the distance to the hardware limit shows.
#
# Usage: bench/patch_format_bench.sh [-n RUNS] [-b BUILD_DIR]
#   RUNS defaults to 3 (the best run is reported, with the worst beside it);
#   BUILD_DIR defaults to build/release (configured and built here if missing).
# Targets (issue #2): build <= 2.0 s, verify <= 1.2 s, each < 64 MiB peak RSS, output <= 0.5 % larger.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$HERE/scripts/lib.sh"
need_tools cmake ninja rpmbuild tar gzip md5sum sha256sum bc lscpu /usr/bin/time
SHARED="${PATCHING_SHARED_DIR:-$HERE/../shared}"
RUNS=3
BUILD="$HERE/build/release"
while getopts "n:b:h" opt; do
    case "$opt" in
        n) RUNS="$OPTARG" ;;
        b) BUILD="$OPTARG" ;;
        *) sed -n '2,9p' "$0"; exit 2 ;;
    esac
done
OUT="$HERE/bench/out"
mkdir -p "$OUT"
if [ ! -x "$BUILD/patch_build/patch-build" ]; then
    cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPATCHING_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" --target patch-build >/dev/null
TOOL="$BUILD/patch_build/patch-build"
KEY="$SHARED/fixtures/keys/fixture-signing-key.pem"
CERT="$SHARED/fixtures/keys/fixture-signing-cert.pem"
if [ ! -d "$OUT/large" ] || [ "$(ls "$OUT/large" | wc -l)" -ne 10 ]; then
    echo "generating 10 x 50 MiB RPMs (make-test-rpms.sh large)..." >&2
    bash "$SHARED/fixtures/make-test-rpms.sh" -o "$OUT" large >/dev/null
fi
RPMS=("$OUT"/large/*.rpm)
INPUT_BYTES=$(cat "${RPMS[@]}" | wc -c)
ARGS=()
for r in "${RPMS[@]}"; do ARGS+=(--all-nodes "$r"); done
TIMEFMT="%e %M"

# run_timed LABEL CMD...: runs RUNS times; prints "best worst maxrss" (seconds, seconds, KiB).
run_timed() {
    local best="" worst="" rss=0 i t m
    for ((i = 0; i < RUNS; i++)); do
        sync
        if ! /usr/bin/time -o "$OUT/time.txt" -f "$TIMEFMT" "$@" >/dev/null 2>"$OUT/stderr.txt"; then
            echo "benchmark command failed: $*" >&2
            cat "$OUT/stderr.txt" >&2
            exit 1
        fi
        read -r t m < "$OUT/time.txt"
        [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ] && best=$t
        [ -z "$worst" ] || [ "$(echo "$t > $worst" | bc)" = 1 ] && worst=$t
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $worst $rss"
}
read -r b_best b_worst b_rss < <(run_timed "$TOOL" --id large --release 22.12 --sign-key "$KEY" -o "$OUT" "${ARGS[@]}")
OUT_BYTES=$(stat -c %s "$OUT/large.patch")
read -r v_best v_worst v_rss < <(run_timed "$TOOL" verify --cert "$CERT" "$OUT/large.patch")
read -r bb_best bb_worst bb_rss < <(run_timed bash -c "tar -cf - -C '$OUT/large' . | gzip -1 > '$OUT/baseline.tar.gz'")
read -r bc_best bc_worst bc_rss < <(run_timed bash -c "tar -cf - -C '$OUT/large' . > '$OUT/baseline.tar' && sync -f '$OUT/baseline.tar'")
read -r bv_best bv_worst bv_rss < <(run_timed bash -c "gzip -dc '$OUT/large.patch' | tee >(md5sum >/dev/null) | sha256sum >/dev/null")
read -r bh_best bh_worst bh_rss < <(run_timed bash -c "cat '$OUT/large.patch' | tee >(md5sum >/dev/null) | sha256sum >/dev/null")
rm -f "$OUT/baseline.tar.gz" "$OUT/baseline.tar"

ratio() { echo "scale=2; $1 / $2" | bc; }
printf '\nInput: %d RPMs, %d bytes; machine: %s, %s cores; %d runs each (best / worst)\n\n' \
    "${#RPMS[@]}" "$INPUT_BYTES" "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$RUNS"
printf '%-52s %8s %8s %10s %s\n' "what" "best s" "worst s" "peak RSS" "vs ours"
printf '%-52s %8s %8s %7d MiB\n' "patch-build (build + sign, fsync'd)" "$b_best" "$b_worst" $((b_rss / 1024))
printf '%-52s %8s %8s %7d MiB %sx\n' "baseline: tar | gzip -1 > file" "$bb_best" "$bb_worst" $((bb_rss / 1024)) "$(ratio "$bb_best" "$b_best")"
printf '%-52s %8s %8s %7d MiB %sx\n' "baseline: tar > file, sync (no compression/hash)" "$bc_best" "$bc_worst" $((bc_rss / 1024)) "$(ratio "$bc_best" "$b_best")"
printf '%-52s %8s %8s %7d MiB\n' "patch-build verify (MD5 + PSS + structure + RPM hdrs)" "$v_best" "$v_worst" $((v_rss / 1024))
printf '%-52s %8s %8s %7d MiB %sx\n' "baseline: gzip -dc | tee md5sum | sha256sum" "$bv_best" "$bv_worst" $((bv_rss / 1024)) "$(ratio "$bv_best" "$v_best")"
printf '%-52s %8s %8s %7d MiB %sx\n' "baseline: cat | tee md5sum | sha256sum (no inflate)" "$bh_best" "$bh_worst" $((bh_rss / 1024)) "$(ratio "$bh_best" "$v_best")"
printf '\nOutput size: %d bytes = %s %% of input (target <= 100.5 %%)\n' "$OUT_BYTES" \
    "$(echo "scale=3; 100 * $OUT_BYTES / $INPUT_BYTES" | bc)"
printf 'Reference implementation (quoted in issue #2, same input, same machine type): build 16.1-18.6 s, verify 5.7-6.3 s\n'
printf 'Targets: build <= 2.0 s, verify <= 1.2 s, peak RSS < 64 MiB each\n'
