// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "config.hpp"
#include "hosts/agent_notifier.hpp"
#include "service/errors.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/messages.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// One row of the host table as operators see it (query-hosts), computed at one instant.
struct HostView {
    std::string hostname;
    std::string ip;
    core::protocol::HostState state = core::protocol::HostState::IDLE;
    bool patch_current = false;
    bool requires_reboot = false;
    bool allow_insvc_patching = false;
    std::int64_t secs_since_ack = 0;
    bool patch_failed = false;
    bool install_pending = false;  ///< An install command is queued or running.
    /// The last install command's status as query-hosts spells it: "" while it waits, then
    /// "running", "ok", "failed" or "rejected".
    std::string install_status;
    std::string install_reject_reason;
    bool interim_state = false;
    bool stale = false;
    core::HostReport report;  ///< Brief fields only (sw_version, nodetype, subfunctions), no lists.
    /// The last report over the protocol, when the agent reported since the controller started.
    std::shared_ptr<const core::protocol::AgentReport> agent;
    std::uint64_t report_revision = 0;  ///< Changes with every report (render caches key on it).
    std::string boot_id;                ///< From its agent's last hello.
};

/// A command's id: unique in the controller's store (never reused, also after a restart).
using CommandId = std::string;

/// What to run on a host. INSTALL is host-install (`force`: even if the host is not locked);
/// REBOOT is reserved (its completion rule is in place, see HostService). More kinds (lock,
/// unlock, hooks) are new core::protocol::CommandKind values with their fields here.
struct HostCommand {
    core::protocol::CommandKind kind = core::protocol::CommandKind::INSTALL;
    bool force = false;
    /// The command's id chosen by the caller (an idempotency key: enqueue() of an id the queue
    /// already holds returns that command and queues nothing); "" = a fresh id. At most 64
    /// characters of [A-Za-z0-9._-].
    CommandId id{};
    std::string hook{};  ///< HOOK: the phase to run (core::protocol::is_hook_phase).
};

/// A command and where it stands (the store's row: id, host, kind, status, reason, times).
using CommandRecord = StoredCommand;

/// Told about every change of a command's status (queued, sent, running, ok, failed, rejected),
/// after the store has it. Called on the thread that made the change (an agent's request, or
/// the caller of enqueue()), with no lock of HostService held: it must not block, and may call
/// HostService. A command is finished when core::protocol::is_finished(record.status).
class CommandObserver {
public:
    virtual ~CommandObserver() = default;
    virtual void on_command(const CommandRecord& record) = 0;
};

/// The host table and what is dispatched to hosts (spec §3.7): agent reports feed it and the
/// patch states; each host has an ordered queue of typed commands, handed to its agent one at a
/// time (the head, repeated in every poll reply until the agent says it runs it), persisted with
/// every change of status; drop-host forgets a host and its commands. Hosts are persisted (who
/// they are, when last heard from, their boot id); their reports are not, so after a restart a
/// host is shown as stale with state "unknown" until its agent reports.
///
/// Command rules: an agent runs each id at most once (it records the ids it ran; see
/// patch_agent/PROTOCOL.md). A command the agent had acknowledged (RUNNING) that the agent
/// reports without, after a restart that lost its record, has failed. A REBOOT handed to the
/// agent is done (OK) when the agent's hello carries a boot id other than the one the host had
/// when it was handed over, and is never handed out again. Finished commands are kept, per
/// host, up to config.host_command_history, for command().
/// Thread-safe.
class HostService {
public:
    HostService(const ControllerConfig& config, ControllerState& state, Store& store, const AgentNotifier& notifier,
                const core::Clock& clock)
        : config_(config), state_(state), store_(store), notifier_(notifier), clock_(clock) {}

    /// Asks the host's agent to install (host-install-async): enqueue() of an INSTALL, unless
    /// one is already waiting. `host` is a name or address.
    /// @throws NotFound (unknown host), Conflict (stale or already installing).
    OpReport install(const std::string& host, bool force);
    /// host-install's checks and rules without queueing anything: the INSTALL command install()
    /// would queue for `host` (force implied when every applied patch installs in service).
    /// The agent applies the reboot/locking rule (it rejects an unforced install on a host that
    /// needs a reboot and is not locked).
    /// @throws NotFound (unknown host), Conflict (stale, or an install is already running).
    HostCommand install_command(const std::string& host, bool force) const;
    /// Forgets a host and its commands (drop-host). @throws NotFound.
    void drop(const std::string& host);
    /// The table, sorted by host key.
    std::vector<HostView> list() const;

    // The command queue (the work-request engine and host-install use it).
    /// Appends `command` to the queue of `host` (a name or address) and wakes its agent. The
    /// host need not be reachable: the command waits until its agent polls. With a caller-chosen
    /// `command.id` the call is idempotent: if a command with that id is kept (queued, running or
    /// finished), it is returned and nothing is queued; the id is the command's primary key in
    /// the store, written in the same transaction as the command.
    /// @throws NotFound (unknown host), InvalidField ("id": malformed, or kept for another host).
    CommandId enqueue(const std::string& host, const HostCommand& command);
    /// A command, unfinished or finished and still kept; nullopt if unknown or pruned.
    std::optional<CommandRecord> command(const CommandId& id) const;
    /// The commands of `host` (by name) still kept: finished ones oldest first, then the queue.
    std::vector<CommandRecord> commands(const std::string& hostname) const;
    /// The unfinished commands of `host` (by name), head first.
    std::vector<CommandRecord> queue(const std::string& hostname) const;
    /// Ends an unfinished command as FAILED with `reason` (a REBOOT whose host never came back):
    /// it leaves the queue, is never handed out again, and a late hello does not finish it.
    /// No-op if the command is finished or unknown.
    void abandon(const CommandId& id, const std::string& reason);
    /// Registers an observer (it must outlive its registration). Thread-safe.
    void add_observer(CommandObserver& observer);
    void remove_observer(CommandObserver& observer);
    /// Told the labels of every agent report (host name, labels), after the report is taken,
    /// with no lock of HostService held (groups decide whether they take effect). Set before
    /// serving.
    /// Finished commands for which `keep(id)` is true are not pruned from the history (the work
    /// engine keeps the commands of its unfinished children). Called with HostService's command
    /// lock held: it must not call HostService. Set before serving.
    void set_prune_guard(std::function<bool(const std::string& id)> keep) { prune_guard_ = std::move(keep); }
    void set_labels_listener(
        std::function<void(const std::string& host, const std::map<std::string, std::string>& labels)> listener) {
        labels_listener_ = std::move(listener);
    }

    // The agent protocol's side (agents/AgentApi calls these).
    /// What a polling agent needs to hear about.
    struct AgentNews {
        std::uint64_t op_counter = 0;  ///< Published: the repositories already match it.
        bool send_report = false;      ///< We have no report, or an older one, from this host.
        std::optional<core::protocol::Command> command;  ///< The queue's head, until acknowledged.
    };
    /// Marks the head SENT (with the host's boot id) the first time it is handed out.
    AgentNews agent_news(const std::string& hostname, const std::string& report_id);
    /// Records that an authenticated message came from `hostname` at `remote_ip` (liveness).
    void agent_seen(const std::string& hostname, const std::string& remote_ip);
    /// A hello with the host's boot id: liveness, and a new boot id finishes a REBOOT handed out.
    void agent_hello(const std::string& hostname, const std::string& boot_id, const std::string& remote_ip);
    /// Stores a report: host table, patch states, the outcome of the command it names.
    void agent_report(const core::protocol::AgentReport& report, const std::string& remote_ip);
    /// The op_counter agents compare with (see ControllerState::published_counter).
    std::uint64_t published_op_counter() const { return state_.published_counter.load(); }

private:
    /// Command changes to commit: new versions of commands and ids to delete (pruned history).
    struct CommandChanges {
        std::vector<StoredCommand> put;
        std::vector<std::string> pruned;
        std::optional<StoredHost> host;  ///< A host row to write in the same transaction.
        bool empty() const { return put.empty() && pruned.empty() && !host; }
    };
    /// REQUIRES: state_.mutex held.
    bool is_stale(const HostRecord& h, std::int64_t now) const;
    /// host-install's checks of `host`; returns its record and whether an INSTALL waits in its
    /// queue that covers one with `force`. REQUIRES: state_.mutex held (shared is enough).
    const HostRecord& check_install_locked(const std::string& host, bool force, bool& covered) const;
    /// enqueue() without waking the agent or telling the observers. REQUIRES: command_mutex_ held.
    StoredCommand enqueue_locked(const std::string& host, const HostCommand& command);
    /// Adds `c` finished with `status`, `reason` and the agent's `output` to `changes`, pruning
    /// the host's history. REQUIRES: state_.mutex held (shared is enough).
    void finish(const HostRecord& h, StoredCommand c, core::protocol::CommandStatus status, std::string reason,
                CommandChanges& changes, std::string output = {}) const;
    /// Writes `changes` in one transaction, then applies them to the model.
    /// REQUIRES: command_mutex_ held; state_.mutex not held.
    void commit(const CommandChanges& changes);
    /// REQUIRES: state_.mutex held exclusively.
    void apply_locked(const CommandChanges& changes);
    /// Tells the observers. REQUIRES: no lock held.
    void tell(const std::vector<StoredCommand>& changed);

    const ControllerConfig& config_;
    ControllerState& state_;
    Store& store_;
    const AgentNotifier& notifier_;
    const core::Clock& clock_;
    /// Serialises changes of commands (store, then model). Lock order: command_mutex_, then
    /// state_.mutex.
    std::mutex command_mutex_;
    std::map<std::string, std::string> hello_boot_ids_;  ///< Hosts not in the table yet (command_mutex_).
    std::function<void(const std::string&, const std::map<std::string, std::string>&)> labels_listener_;
    std::function<bool(const std::string&)> prune_guard_;
    mutable std::mutex observers_mutex_;
    std::vector<CommandObserver*> observers_;
};

}  // namespace patching::controller
