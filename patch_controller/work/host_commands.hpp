// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/messages.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace patching::controller {

/// Where a command sent to a host stands, as far as the controller knows.
enum class CommandProgress {
    RUNNING,        ///< Queued for the host, handed to it, or running on it.
    SUCCEEDED,      ///< The host ran it (OK).
    FAILED,         ///< The host ran it and it failed (or the agent restarted inside it).
    REJECTED,       ///< The host refused it (not locked while reboot is required).
    NOT_DELIVERED,  ///< The host's queue never got it (the controller stopped before): send again.
    UNKNOWN,        ///< Not known yet (no implementation answers this today; the engine waits).
};

struct CommandOutcome {
    CommandOutcome() = default;
    CommandOutcome(CommandProgress p, std::string r, std::string out = {})
        : progress(p), reason(std::move(r)), output(std::move(out)) {}

    CommandProgress progress = CommandProgress::UNKNOWN;
    std::string reason;
    std::string output = {};  ///< A finished command's log from its host (lines); what a hook printed.
    // Known when the command is (only command_outcome() fills them):
    std::int64_t created_at = 0;   ///< When it was queued.
    std::int64_t finished_at = 0;  ///< When it finished (0 while it runs).
    std::int64_t exit_code = 0;    ///< HOOK: the hook's exit code.
};

/// What the host lifecycle (work/host_flow.hpp) needs to know about a host.
struct LifecycleFacts {
    bool admin_locked = false;     ///< The controller's administrative state.
    bool requires_reboot = false;  ///< The agent reports the host must reboot.
    bool patch_current = false;    ///< Its last report says it matches the repository.
    bool patch_failed = false;
    bool insvc_allowed = false;    ///< Every applied patch installs in service (no reboot needed).
    std::string boot_id;           ///< From its agent's last hello.
    std::int64_t report_time = 0;  ///< When its agent last reported (0: not since the start).
};

/// A host as the work engine needs to know it.
struct HostFacts {
    bool known = false;
    bool reachable = false;  ///< Its agent reported recently (not stale).
    std::string hostname;    ///< The canonical name (the request may name an address).
    std::string sw_version;
    std::string personality;
};

/// The narrow interface through which work requests act on hosts (dispatch). Its one
/// implementation sits on HostService's per-host command queue (work/host_service_commands.hpp).
/// Implementations are thread-safe.
class HostCommands {
public:
    virtual ~HostCommands() = default;

    /// What is known about `host` (a name or an address).
    virtual HostFacts facts(const std::string& host) = 0;
    /// Every host of the host table.
    virtual std::vector<HostFacts> all_hosts() = 0;
    /// The patches a host of `sw_version` is to end up with now: the release's applied set.
    virtual std::vector<std::string> desired_set(const std::string& sw_version) = 0;
    /// host-install's own checks, throwing its own errors (NotFound, Conflict).
    virtual void check_install(const std::string& host) = 0;
    /// Queues an install of the release's applied set on `host` as command `command_id`, with
    /// host-install's reboot and locking rules. Idempotent on `command_id`: sending an id again
    /// (after a restart, say) never queues it twice, so it never runs twice.
    /// @throws NotFound, Conflict as host-install.
    virtual void start_install(const std::string& host, const std::string& command_id, bool force) = 0;
    /// Where command `command_id` on `host` stands.
    virtual CommandOutcome install_outcome(const std::string& host, const std::string& command_id) = 0;
    /// Keeps command `command_id` and its outcome (from pruning of the host's command history)
    /// until release(): the engine tracks the command of every unfinished child, so a child's
    /// outcome is never lost, however many other commands its host finishes meanwhile or
    /// whenever the controller restarts. start_install() tracks the command it queues.
    virtual void track(const std::string& command_id) = 0;
    /// The engine has finished the child of `command_id` (and committed that).
    virtual void release(const std::string& command_id) = 0;

    // The host lifecycle (work/host_flow.hpp).
    virtual LifecycleFacts lifecycle_facts(const std::string& host) = 0;
    /// Queues command `command_id` of `kind` (LOCK, UNLOCK, REBOOT, HOOK with `hook`) on `host`.
    /// Idempotent on `command_id`.
    virtual void start_command(const std::string& host, const std::string& command_id,
                               core::protocol::CommandKind kind, const std::string& hook) = 0;
    /// install_outcome() with the times, exit code and output.
    virtual CommandOutcome command_outcome(const std::string& host, const std::string& command_id) = 0;
    /// Ends an unfinished command as failed (a reboot that never came back): it is never handed
    /// out again and no longer holds the host's queue.
    virtual void abandon_command(const std::string& command_id, const std::string& reason) = 0;
    /// Records the controller's administrative state of `host`.
    virtual void set_admin_state(const std::string& host, bool locked, const std::string& by,
                                 const std::string& reason, std::int64_t work_request) = 0;
    /// Raises (with `reason`) or clears the controller's own alarm `alarm_id` on `host`.
    virtual void host_alarm(const std::string& alarm_id, const std::string& host, bool raised,
                            const std::string& reason) = 0;
    /// The alarm gate of full-flow work: throws Conflict naming the management-affecting alarms
    /// raised on one of `hosts` (canonical host names, HostFacts::hostname) or system-wide; ids
    /// in `ignore` do not block.
    virtual void refuse_if_alarmed(const std::vector<std::string>& hosts, const std::vector<std::string>& ignore) = 0;
};

}  // namespace patching::controller
