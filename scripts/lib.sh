# SPDX-License-Identifier: Apache-2.0
# Shared shell helpers for scripts/ and bench/ (source it; it sets nothing else).

# need_tools TOOL...: stops with one message naming every missing tool. CI's package check
# (scripts/check_packages.py --declared-tools) also reads these lines, so the tools a script
# declares must come from scripts/packages.txt even where CI does not run the script.
need_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "$(basename "$0"): not installed: ${missing[*]}; run scripts/install-deps.sh as root" >&2
        exit 1
    fi
}
