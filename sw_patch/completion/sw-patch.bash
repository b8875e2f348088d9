# SPDX-License-Identifier: Apache-2.0
# bash completion for sw-patch. Patch IDs and hostnames come from the controller through
# `sw-patch completion patches|hosts` (silently nothing when it cannot be reached).

_sw_patch_query() {
    # Reuse --controller/--token-file from the command line being completed.
    local -a global=()
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --controller|--token-file)
                global+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}")
                ;;
        esac
    done
    "${COMP_WORDS[0]}" "${global[@]}" completion "$1" 2>/dev/null
}

_sw_patch() {
    COMPREPLY=()
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev="${COMP_WORDS[COMP_CWORD-1]}"
    local global_opts="--debug --controller --token-file --help --version"
    local subcommands="upload upload-dir apply remove delete query show what-requires
        query-dependencies query-hosts host-install host-install-async drop-host install-local
        commit is-applied is-available report-app-dependencies query-app-dependencies"

    case "$prev" in
        --controller|--app|--release)
            return 0
            ;;
        --token-file)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --format)
            COMPREPLY=($(compgen -W "text json" -- "$cur"))
            return 0
            ;;
    esac

    # Find the subcommand: the first word that is neither an option nor an option's value.
    local subcommand="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --controller|--token-file) ((i++)) ;;
            -*) ;;
            *) subcommand="${COMP_WORDS[i]}"; break ;;
        esac
    done

    if [[ -z "$subcommand" ]]; then
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
        fi
        return 0
    fi

    local format_opts="--format --json"
    local opts="" words=""
    case "$subcommand" in
        upload)
            COMPREPLY=($(compgen -f -X '!*.patch' -- "$cur") $(compgen -d -- "$cur"))
            return 0
            ;;
        upload-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return 0
            ;;
        apply) opts="--all --skip-semantic"; words=$(_sw_patch_query patches) ;;
        remove) opts="--skipappcheck --skip-semantic"; words=$(_sw_patch_query patches) ;;
        delete) words=$(_sw_patch_query patches) ;;
        show|what-requires|is-applied|is-available)
            opts="$format_opts"; words=$(_sw_patch_query patches) ;;
        query-dependencies)
            opts="--recursive $format_opts"; words=$(_sw_patch_query patches) ;;
        query) opts="--release $format_opts"; words="all available applied committed" ;;
        query-hosts|query-app-dependencies) opts="$format_opts" ;;
        host-install|host-install-async|drop-host)
            [[ "$subcommand" != drop-host ]] && opts="--force"
            words=$(_sw_patch_query hosts)
            ;;
        commit) opts="--all --dry-run --release --yes"; words=$(_sw_patch_query patches) ;;
        report-app-dependencies) opts="--app"; words=$(_sw_patch_query patches) ;;
        install-local) ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help $global_opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
    return 0
}

complete -o filenames -F _sw_patch sw-patch
