// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "config.hpp"
#include "alarms/alarm_service.hpp"
#include "hosts/host_admin.hpp"
#include "hosts/host_service.hpp"
#include "work/host_commands.hpp"

#include <patch_core/clock.hpp>

#include <map>
#include <set>
#include <mutex>
#include <string>

namespace patching::controller {

/// HostCommands over HostService's per-host command queue. The only file that knows how work
/// requests reach hosts.
///
/// Dispatch: the work engine picks the command id ("wr-<child id>-<accepted>") and commits it in
/// the child work request before calling start_install(), which enqueues an INSTALL under that
/// id. HostService::enqueue is idempotent on a caller-chosen id (the id is the primary key of
/// host_commands, written in the same transaction as the command), so a controller killed
/// between the two steps, or after both, re-sends the same id on its next tick and the queue
/// hands back the command it has: nothing runs twice on a host. (The agent's command journal
/// refuses an id it already ran, as a second line.)
///
/// Outcomes: an observer of the queue keeps the finished outcome of each work command until the
/// engine has read it (so pruning of the host's command history cannot lose it); otherwise
/// command(id) says where it stands (loaded from the store after a restart).
class HostServiceCommands final : public HostCommands, private CommandObserver {
public:
    HostServiceCommands(const ControllerConfig& config, ControllerState& state, HostService& hosts,
                        const core::Clock& clock);
    ~HostServiceCommands() override;
    HostServiceCommands(const HostServiceCommands&) = delete;
    HostServiceCommands& operator=(const HostServiceCommands&) = delete;

    HostFacts facts(const std::string& host) override;
    std::vector<HostFacts> all_hosts() override;
    std::vector<std::string> desired_set(const std::string& sw_version) override;
    void check_install(const std::string& host) override { hosts_.install_command(host, false); }
    void start_install(const std::string& host, const std::string& command_id, bool force) override;
    CommandOutcome install_outcome(const std::string& host, const std::string& command_id) override;
    void track(const std::string& command_id) override;
    void release(const std::string& command_id) override;
    LifecycleFacts lifecycle_facts(const std::string& host) override;
    void start_command(const std::string& host, const std::string& command_id, core::protocol::CommandKind kind,
                       const std::string& hook) override;
    CommandOutcome command_outcome(const std::string& host, const std::string& command_id) override;
    void abandon_command(const std::string& command_id, const std::string& reason) override;
    void set_admin_state(const std::string& host, bool locked, const std::string& by, const std::string& reason,
                         std::int64_t work_request) override;
    void host_alarm(const std::string& alarm_id, const std::string& host, bool raised,
                    const std::string& reason) override;
    void refuse_if_alarmed(const std::vector<std::string>& hosts, const std::vector<std::string>& ignore) override;
    /// The administrative state and the alarms the lifecycle methods use (the Controller wires
    /// them once, before serving).
    void attach(HostAdmin& admin, AlarmService& alarms) {
        admin_ = &admin;
        alarms_ = &alarms;
    }

    /// The prefix of the command ids the work engine chooses.
    static constexpr const char* WORK_ID_PREFIX = "wr-";

private:
    void on_command(const CommandRecord& record) override;
    /// REQUIRES: state_.mutex held.
    HostFacts facts_of(const HostRecord& h, std::int64_t now) const;

    const ControllerConfig& config_;
    ControllerState& state_;
    HostService& hosts_;
    const core::Clock& clock_;
    std::mutex finished_mutex_;
    std::map<std::string, CommandRecord> finished_;  ///< Work commands finished, not yet read.
    std::set<std::string> tracked_;                  ///< Never pruned (see track()).
    HostAdmin* admin_ = nullptr;
    AlarmService* alarms_ = nullptr;
};

}  // namespace patching::controller
