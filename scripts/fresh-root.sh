#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the README's two commands as a newcomer would: each in its own fresh Debian 12 root
# (debootstrap --variant=minbase bookworm), with this working tree and ../shared copied in, and
# prints how long each took, apt-get included. Run as root on a Debian machine with network access
# to a Debian mirror (the one in /etc/apt; MIRROR= to override).
#
# usage: scripts/fresh-root.sh [demo|test|both]   (default: both)
#   FRESH_DIR=/var/tmp/patching-fresh   where roots are made (the pristine debootstrap is kept as
#                                       base/ and copied for each run; REBOOTSTRAP=1 makes it anew)
#   KEEP=1                              keep the roots afterwards (for a look inside)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$HERE/../shared" && pwd)"
WHAT="${1:-both}"
case "$WHAT" in demo | test | both) ;; *) sed -n '2,12p' "$0"; exit 2 ;; esac
source "$HERE/scripts/lib.sh"
source "$HERE/scripts/fresh_root_lib.sh"
need_tools git tar /usr/bin/time
fresh_base
trap fresh_unmount_all EXIT

# run_fresh NAME COMMAND: a copy of the pristine root, the project inside, COMMAND timed there.
run_fresh() {
    local name="$1" command="$2" root="$FRESH/$1"
    fresh_root "$root"
    mkdir -p "$root/work/main" "$root/work/shared"
    # The working tree as git sees it (tracked and new files, nothing ignored: no build output).
    git -C "$HERE" ls-files -z --cached --others --exclude-standard |
        (cd "$HERE" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$root/work/main"
    cp -a "$SHARED/." "$root/work/shared/"
    local rc=0 times
    # Wall time, and the CPU time of everything the command ran: on a busy machine the second
    # says what the command itself cost.
    /usr/bin/time -o "$FRESH/$name.time" -f "%e %U %S" chroot "$root" "${FRESH_ENV[@]}" \
        bash -c "cd /work/main && $command" >"$FRESH/$name.log" 2>&1 || rc=$?
    fresh_unmount_all
    [ "${KEEP:-0}" = 1 ] || rm -rf "$root"
    read -r times < <(tail -n 1 "$FRESH/$name.time")
    RESULTS+=("$(awk -v t="$times" -v c="$command" -v rc="$rc" -v logfile="$FRESH/$name.log" 'BEGIN {
        split(t, f, " "); w = int(f[1]); cpu = int(f[2] + f[3])
        printf "%-22s %2dm%02ds wall, %2dm%02ds CPU  exit %d  (log: %s)", c, w / 60, w % 60, cpu / 60, cpu % 60, rc, logfile }')")
    [ "$rc" -eq 0 ] || { echo "fresh-root: '$command' failed (exit $rc); last lines of $FRESH/$name.log:" >&2; tail -20 "$FRESH/$name.log" >&2; }
    return "$rc"
}

RESULTS=()
status=0
echo "fresh-root: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start"
if [ "$WHAT" = demo ] || [ "$WHAT" = both ]; then
    run_fresh demo-root "bash scripts/demo.sh" || status=1
fi
if [ "$WHAT" = test ] || [ "$WHAT" = both ]; then
    run_fresh test-root "bash scripts/test.sh" || status=1
fi
echo "fresh-root: from a fresh debootstrap --variant=minbase bookworm root, $(nproc) cores:"
printf '  %s\n' "${RESULTS[@]}"
echo "fresh-root: load $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work on the machine slows these figures)"
exit "$status"
