# SPDX-License-Identifier: Apache-2.0
# bash completion for sw-manager
_sw_manager() {
    local cur prev words cword
    _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
    local global="--controller --token-file --format --help"
    local cmd="" sub=""
    local i
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
            --controller|--token-file|--format) ((i++)) ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
        esac
    done
    case "$prev" in
        --format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --token-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --flow) COMPREPLY=($(compgen -W "full" -- "$cur")); return ;;
        --severity) COMPREPLY=($(compgen -W "critical major minor warning" -- "$cur")); return ;;
        --status) COMPREPLY=($(compgen -W "ACCEPTED WAITING IN_PROGRESS SUCCEEDED FAILED CANCELING CANCELED SKIPPED" -- "$cur")); return ;;
        --overlap) COMPREPLY=($(compgen -W "SKIP QUEUE" -- "$cur")); return ;;
        --time-zone) COMPREPLY=($(cd /usr/share/zoneinfo 2>/dev/null && compgen -f -- "$cur")); return ;;
        --rule) COMPREPLY=($(compgen -W "FREQ=HOURLY FREQ=DAILY FREQ=WEEKLY;BYDAY= FREQ=MONTHLY;BYDAY=2TU FREQ=MONTHLY;BYMONTHDAY=" -- "$cur")); return ;;
    esac
    case "$cmd" in
        "") COMPREPLY=($(compgen -W "work-request group host-install job host-list host-show host-lock host-unlock host-reboot alarm $global" -- "$cur")) ;;
        work-request)
            case "$sub" in
                "") COMPREPLY=($(compgen -W "list show logs errors cancel rerun" -- "$cur")) ;;
                list) COMPREPLY=($(compgen -W "--status --host --parent --limit --page" -- "$cur")) ;;
                rerun) COMPREPLY=($(compgen -W "--wait" -- "$cur")) ;;
            esac ;;
        group)
            case "$sub" in
                "") COMPREPLY=($(compgen -W "create list show update add-hosts remove-hosts label labels delete" -- "$cur")) ;;
                create) COMPREPLY=($(compgen -W "--hosts --personality --label --description --sw-version" -- "$cur")) ;;
                update) COMPREPLY=($(compgen -W "--description --sw-version --personality --label --clear-rule" -- "$cur")) ;;
                label) COMPREPLY=($(compgen -W "--accept-reported" -- "$cur")) ;;
            esac ;;
        job)
            local jobopts="--start --time-zone --rule --hosts --group --max-concurrency --max-errors --retry-intervals --window-minutes --overlap --description --force"
            case "$sub" in
                "") COMPREPLY=($(compgen -W "create list show runs run-now skip-next pause resume update delete" -- "$cur")) ;;
                create) COMPREPLY=($(compgen -W "$jobopts --paused" -- "$cur")) ;;
                update) COMPREPLY=($(compgen -W "$jobopts --if-match" -- "$cur")) ;;
                list) COMPREPLY=($(compgen -W "--group --limit --page" -- "$cur")) ;;
                show) COMPREPLY=($(compgen -W "--next" -- "$cur")) ;;
                runs) COMPREPLY=($(compgen -W "--limit --page" -- "$cur")) ;;
                run-now|skip-next|pause|resume|delete) COMPREPLY=($(compgen -W "--if-match" -- "$cur")) ;;
            esac ;;
        host-install)
            COMPREPLY=($(compgen -W "--hosts --group --max-concurrency --max-errors --retry-intervals --force --wait --flow --lock" -- "$cur")) ;;
        host-lock|host-unlock|host-reboot)
            COMPREPLY=($(compgen -W "--reason --wait" -- "$cur")) ;;
        alarm)
            case "$sub" in
                "") COMPREPLY=($(compgen -W "list raise clear" -- "$cur")) ;;
                list) COMPREPLY=($(compgen -W "--entity" -- "$cur")) ;;
                raise) COMPREPLY=($(compgen -W "--severity --entity --reason --not-mgmt-affecting" -- "$cur")) ;;
                clear) COMPREPLY=($(compgen -W "--entity" -- "$cur")) ;;
            esac ;;
    esac
}
complete -F _sw_manager sw-manager
