// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "hosts/agent_notifier.hpp"
#include "service/errors.hpp"

#include <patch_core/messages.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// One row of the host table as operators see it (query-hosts), computed at one instant.
struct HostView {
    std::string hostname;
    std::string ip;
    std::string state;
    bool patch_current = false;
    bool requires_reboot = false;
    bool allow_insvc_patching = false;
    std::int64_t secs_since_ack = 0;
    bool patch_failed = false;
    bool install_pending = false;
    std::string install_status;
    std::string install_reject_reason;
    bool interim_state = false;
    bool stale = false;
    core::HostReport report;  ///< Brief fields only (sw_version, nodetype, subfunctions), no lists.
    /// The last report over the protocol, when the agent reported since the controller started.
    std::shared_ptr<const core::protocol::AgentReport> agent;
    std::uint64_t report_revision = 0;  ///< Changes with every report (render caches key on it).
};

/// The host table and what is dispatched to hosts (spec §3.7): agent reports feed it and the
/// patch states, host-install requests go out through the agents' polls, drop-host forgets a
/// host. Hosts are persisted (who they are, when last heard from); their reports are not, so
/// after a restart a host is shown as stale with state "unknown" until its agent reports.
/// Thread-safe.
class HostService {
public:
    HostService(const ControllerConfig& config, ControllerState& state, Store& store, const AgentNotifier& notifier,
                const Clock& clock)
        : config_(config), state_(state), store_(store), notifier_(notifier), clock_(clock) {}

    /// Asks the host's agent to install (host-install-async). `host` is a name or address.
    /// @throws NotFound (unknown host), Conflict (stale or already installing).
    OpReport install(const std::string& host, bool force);
    /// The checks of install() without sending anything. @throws NotFound, Conflict as install().
    void check_install(const std::string& host) const;
    /// install() with the command's id chosen by the caller ("" = a fresh one); returns the
    /// host's name. The agent runs each id once. @throws NotFound, Conflict as install().
    std::string start_install(const std::string& host, const std::string& request_id, bool force);
    /// Forgets a host (drop-host). @throws NotFound.
    void drop(const std::string& host);
    /// The table, sorted by host key.
    std::vector<HostView> list() const;

    // The agent protocol's side (agents/AgentApi calls these).
    /// What a polling agent needs to hear about.
    struct AgentNews {
        std::uint64_t op_counter = 0;  ///< Published: the repositories already match it.
        bool send_report = false;      ///< We have no report, or an older one, from this host.
        std::optional<core::protocol::InstallCommand> install;
    };
    AgentNews agent_news(const std::string& hostname, const std::string& report_id) const;
    /// Records that an authenticated message came from `hostname` at `remote_ip` (liveness).
    void agent_seen(const std::string& hostname, const std::string& remote_ip);
    /// Stores a report: host table, patch states, install outcome.
    void agent_report(const core::protocol::AgentReport& report, const std::string& remote_ip);
    /// The op_counter agents compare with (see ControllerState::published_counter).
    std::uint64_t published_op_counter() const { return state_.published_counter.load(); }

private:
    /// REQUIRES: state_.mutex held (shared is enough).
    void check_install_locked(const std::string& host, std::int64_t now) const;
    /// REQUIRES: state_.mutex held.
    bool is_stale(const HostRecord& h, std::int64_t now) const;

    const ControllerConfig& config_;
    ControllerState& state_;
    Store& store_;
    const AgentNotifier& notifier_;
    const Clock& clock_;
};

}  // namespace patching::controller
