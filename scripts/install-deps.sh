#!/usr/bin/env bash
# Installs every build, test and benchmark dependency on Debian 12 (idempotent; run as root).
set -euo pipefail
PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    libarchive-dev zlib1g-dev libssl-dev openssl libpugixml-dev librpm-dev rpm busybox-static libcli11-dev catch2
    gzip tar bc time python3 iproute2 procps
    libboost1.81-dev nlohmann-json3-dev libcurl4-openssl-dev libsqlite3-dev createrepo-c dnf curl
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
