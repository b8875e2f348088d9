// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "work/host_commands.hpp"
#include "work/work_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace patching::controller {

/// The host lifecycle's timers and retries (ControllerConfig's host_* keys).
struct FlowPolicy {
    std::int64_t reboot_timeout_seconds = 1440;   ///< A rebooted host must say hello with a new boot id within this.
    std::int64_t command_timeout_seconds = 3600;  ///< Lock, unlock, hooks and the install must end within this.
    int hook_retries = 2;                         ///< Retries of a hook that exits 3.
    std::int64_t hook_retry_seconds = 10;         ///< Between them.
    std::int64_t verify_timeout_seconds = 300;    ///< For the host to report Patch Current after the flow.
};

/// What one step of a child's flow did, for the engine to record.
struct FlowResult {
    std::vector<std::pair<std::string, std::string>> logs;  ///< (phase, message) lines.
    bool changed = false;  ///< The child row changed (command id, message): stage it.
    /// Set when the child is over: SUCCEEDED, SKIPPED or FAILED (then failure_kind).
    std::optional<WorkState> final_state;
    std::string failure_kind;
    std::string message;
    bool retryable = false;
};

/// The per-host phase machine of work request children (fleet-ops-spec §7.3, §9.3) for the host
/// lifecycle: HOST_LOCK (pre-lock hook, lock), HOST_UNLOCK (reboot and wait first if the host
/// needs it, unlock, post-unlock hook), HOST_REBOOT (reboot, wait for a new boot id, post-reboot
/// hook) and HOST_INSTALL with params flow "full" (precheck, pre-lock and lock if the delta
/// needs a reboot or the operator asked, install, post-install, reboot and wait if the install
/// requires it, post-reboot, unlock and post-unlock if the flow locked, postcheck, verify).
///
/// Every phase is a command on the host's queue (the controller names the phase; hooks run on
/// the host). The child's command_id names the current phase: "wr-<id>-<accepted>.<phase>.<n>",
/// n the attempt (VERIFY: its start time), suffixed "L" once the flow has locked the host. The
/// ids are deterministic, and queueing an id twice queues it once, so the engine may send a
/// phase's command before it commits the child: after a kill -9 the next tick computes the same
/// id and finds the command. A phase that fails fails the child with a typed failure kind
/// (PRECHECK, HOOK, LOCK_FAILED, INSTALL, INSTALL_REJECTED, REBOOT_TIMEOUT, UNLOCK_FAILED,
/// POSTCHECK, VERIFY_MISMATCH, TIMEOUT), after unlocking the host if the flow locked it (a host
/// that did not come back from its reboot stays locked, with the reason recorded). A canceled
/// child that has not begun its install ends CANCELED (unlocked again if the flow locked it);
/// one inside its install, reboot or an unlock runs on to its real outcome.
class HostFlow {
public:
    HostFlow(HostCommands& hosts, FlowPolicy policy) : hosts_(hosts), policy_(policy) {}

    /// True for children this machine runs (every operation but the plain HOST_INSTALL).
    static bool handles(const StoredWorkRequest& parent);
    /// Picks the first phase of a child being started (sets command_id and message); the
    /// engine commits it, then calls send().
    FlowResult start(const StoredWorkRequest& parent, StoredWorkRequest& child, std::int64_t now);
    /// Queues the command of the child's current phase (idempotent). @throws ServiceError.
    void send(const StoredWorkRequest& parent, const StoredWorkRequest& child);
    /// Looks at the current phase's command: moves to the next phase, retries, waits or ends.
    FlowResult advance(const StoredWorkRequest& parent, StoredWorkRequest& child, std::int64_t now);

private:
    HostCommands& hosts_;
    FlowPolicy policy_;
};

}  // namespace patching::controller
