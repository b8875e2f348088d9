# SPDX-License-Identifier: Apache-2.0
# Fresh Debian 12 roots for scripts/fresh-root.sh and packaging/test-install.sh (sourced; bash).
#   FRESH_DIR=/var/tmp/patching-fresh   where roots are made (the pristine debootstrap is kept as
#                                       base/ and copied for each run; REBOOTSTRAP=1 makes it anew)
#   MIRROR=http://deb.debian.org/debian the mirror debootstrap uses
FRESH="${FRESH_DIR:-/var/tmp/patching-fresh}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
FRESH_MOUNTS=()

# fresh_base: the pristine root ($FRESH/base), made once with debootstrap --variant=minbase.
fresh_base() {
    [ "$(id -u)" = 0 ] || { echo "$0: run as root (debootstrap and chroot need it)" >&2; return 1; }
    if ! command -v debootstrap >/dev/null; then
        echo "$0: debootstrap is missing: apt-get install debootstrap (scripts/install-deps.sh installs it)" >&2
        return 1
    fi
    mkdir -p "$FRESH"
    if [ ! -x "$FRESH/base/bin/bash" ] || [ "${REBOOTSTRAP:-0}" = 1 ]; then
        rm -rf "$FRESH/base.new"
        echo "$0: debootstrap --variant=minbase bookworm ($MIRROR)"
        debootstrap --variant=minbase bookworm "$FRESH/base.new" "$MIRROR" >"$FRESH/debootstrap.log" 2>&1 ||
            { tail -5 "$FRESH/debootstrap.log" >&2; return 1; }
        rm -rf "$FRESH/base"
        mv "$FRESH/base.new" "$FRESH/base"
    fi
}

fresh_unmount_all() {
    local i
    for ((i = ${#FRESH_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${FRESH_MOUNTS[$i]}" 2>/dev/null || true
    done
    FRESH_MOUNTS=()
}

fresh_mount_in() {  # fresh_mount_in ROOT TARGET mount-args...
    local target="$1/$2"
    shift 2
    mkdir -p "$target"
    mount "$@" "$target"
    FRESH_MOUNTS+=("$target")
}

# fresh_root ROOT: a copy of the pristine root at ROOT with this machine's Debian sources and
# resolver, mounted as a real machine's / is (proc, sys, dev, run; the root a mount point of its
# own, which ip netns exec needs). Call fresh_unmount_all when done (an EXIT trap).
fresh_root() {
    local root="$1"
    rm -rf "$root"
    cp -a "$FRESH/base" "$root"
    # The machine's Debian sources (security updates included), as a real install would have them.
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1 && grep -lq 'debian' /etc/apt/sources.list.d/*.sources; then
        rm -f "$root/etc/apt/sources.list"
        grep -l 'deb.debian.org\|debian-security' /etc/apt/sources.list.d/*.sources | xargs -r cp -t "$root/etc/apt/sources.list.d/"
    fi
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    fresh_mount_in "$root" . --bind "$root"
    fresh_mount_in "$root" proc -t proc proc
    fresh_mount_in "$root" sys -t sysfs sysfs
    fresh_mount_in "$root" dev --bind /dev
    fresh_mount_in "$root" dev/pts -t devpts devpts
    fresh_mount_in "$root" dev/shm -t tmpfs tmpfs
    fresh_mount_in "$root" run -t tmpfs tmpfs
}

# A fresh machine's environment for commands run in the root: chroot ROOT "${FRESH_ENV[@]}" CMD...
FRESH_ENV=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
    LANG=C.UTF-8)
