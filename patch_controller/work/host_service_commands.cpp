// SPDX-License-Identifier: Apache-2.0
#include "work/host_service_commands.hpp"

#include <algorithm>
#include <shared_mutex>

namespace patching::controller {

namespace proto = core::protocol;

namespace {

CommandOutcome outcome_of(const CommandRecord& c) {
    switch (c.status) {
        case proto::CommandStatus::OK: return {CommandProgress::SUCCEEDED, c.reason, c.output};
        case proto::CommandStatus::REJECTED: return {CommandProgress::REJECTED, c.reason, c.output};
        case proto::CommandStatus::FAILED:
            return {CommandProgress::FAILED, c.reason.empty() ? "the install failed" : c.reason, c.output};
        case proto::CommandStatus::QUEUED:
        case proto::CommandStatus::SENT:
        case proto::CommandStatus::RUNNING: break;
    }
    return {CommandProgress::RUNNING, ""};
}

}  // namespace

HostServiceCommands::HostServiceCommands(const ControllerConfig& config, ControllerState& state, HostService& hosts,
                                         const core::Clock& clock)
    : config_(config), state_(state), hosts_(hosts), clock_(clock) {
    hosts_.add_observer(*this);
    hosts_.set_prune_guard([this](const std::string& id) {
        std::lock_guard lock(finished_mutex_);
        return tracked_.contains(id);
    });
}

void HostServiceCommands::track(const std::string& command_id) {
    std::lock_guard lock(finished_mutex_);
    tracked_.insert(command_id);
}

void HostServiceCommands::release(const std::string& command_id) {
    std::lock_guard lock(finished_mutex_);
    tracked_.erase(command_id);
    finished_.erase(command_id);
}

HostServiceCommands::~HostServiceCommands() { hosts_.remove_observer(*this); }

void HostServiceCommands::on_command(const CommandRecord& record) {
    if (!proto::is_finished(record.status) || record.id.rfind(WORK_ID_PREFIX, 0) != 0) {
        return;
    }
    std::lock_guard lock(finished_mutex_);
    finished_[record.id] = record;
}

HostFacts HostServiceCommands::facts_of(const HostRecord& h, std::int64_t now) const {
    // HostService's rule for stale (a host not heard from since the start is not reachable).
    const bool reachable = h.reported && now - h.last_seen <= config_.agent_stale_seconds;
    return {true, reachable, h.hostname, h.report.sw_version, h.personality};
}

HostFacts HostServiceCommands::facts(const std::string& host) {
    std::shared_lock data(state_.mutex);
    const std::int64_t now = clock_.now_seconds();
    auto it = state_.hosts.find(host);
    if (it != state_.hosts.end()) {
        return facts_of(it->second, now);
    }
    for (const auto& [name, h] : state_.hosts) {
        if (h.ip == host) {
            return facts_of(h, now);
        }
    }
    return {};
}

std::vector<HostFacts> HostServiceCommands::all_hosts() {
    std::shared_lock data(state_.mutex);
    const std::int64_t now = clock_.now_seconds();
    std::vector<HostFacts> out;
    for (const auto& [name, h] : state_.hosts) {
        out.push_back(facts_of(h, now));
    }
    return out;
}

std::vector<std::string> HostServiceCommands::desired_set(const std::string& sw_version) {
    std::shared_lock data(state_.mutex);
    std::vector<std::string> out;
    for (const auto& [id, p] : state_.patches) {
        if (p.metadata.sw_version == sw_version && p.repostate != core::RepoState::AVAILABLE) {
            out.push_back(id);
        }
    }
    return out;
}

void HostServiceCommands::start_install(const std::string& host, const std::string& command_id, bool force) {
    if (hosts_.command(command_id)) {
        return;  // queued already (before a restart, say): the queue runs it once
    }
    // host-install's checks and force rule; the agent applies the reboot/locking rule.
    HostCommand command = hosts_.install_command(host, force);
    command.id = command_id;
    track(command_id);
    hosts_.enqueue(host, command);  // idempotent on the id, should another caller race us
}

CommandOutcome HostServiceCommands::install_outcome(const std::string& host, const std::string& command_id) {
    {
        std::lock_guard lock(finished_mutex_);
        auto it = finished_.find(command_id);
        if (it != finished_.end()) {
            CommandOutcome o = outcome_of(it->second);
            finished_.erase(it);  // the engine finishes the child with it and never asks again
            return o;
        }
    }
    if (auto c = hosts_.command(command_id)) {
        return outcome_of(*c);
    }
    std::shared_lock data(state_.mutex);
    if (!state_.hosts.contains(host)) {
        return {CommandProgress::FAILED, "the host was dropped from the host table"};
    }
    return {CommandProgress::NOT_DELIVERED, ""};
}

LifecycleFacts HostServiceCommands::lifecycle_facts(const std::string& host) {
    LifecycleFacts f;
    std::string hostname = host;
    {
        std::shared_lock data(state_.mutex);
        f.insvc_allowed = state_.tracker.is_insvc_patching_allowed();
        auto it = state_.hosts.find(host);
        if (it == state_.hosts.end()) {
            it = std::find_if(state_.hosts.begin(), state_.hosts.end(),
                              [&](const auto& kv) { return kv.second.ip == host; });
        }
        if (it != state_.hosts.end()) {
            const HostRecord& h = it->second;
            hostname = h.hostname;
            f.requires_reboot = h.reported && h.requires_reboot;
            f.patch_current = h.reported && !h.report.out_of_date;
            f.patch_failed = h.patch_failed;
            f.boot_id = h.boot_id;
            f.report_time = h.reported ? h.last_seen : 0;
        }
    }
    if (admin_ != nullptr) {
        f.admin_locked = admin_->admin(hostname).locked;
    }
    return f;
}

void HostServiceCommands::start_command(const std::string& host, const std::string& command_id,
                                        proto::CommandKind kind, const std::string& hook) {
    if (hosts_.command(command_id)) {
        return;  // queued already: the queue runs it once
    }
    HostCommand command;
    command.kind = kind;
    command.id = command_id;
    command.hook = hook;
    track(command_id);  // its outcome must outlive the host's history until the flow has read it
    hosts_.enqueue(host, command);
}

CommandOutcome HostServiceCommands::command_outcome(const std::string& host, const std::string& command_id) {
    std::optional<CommandRecord> record;
    {
        std::lock_guard lock(finished_mutex_);
        auto it = finished_.find(command_id);
        if (it != finished_.end()) {
            record = it->second;
            finished_.erase(it);
        }
    }
    if (!record) {
        record = hosts_.command(command_id);
    }
    if (!record) {
        return install_outcome(host, command_id);
    }
    CommandOutcome o = outcome_of(*record);
    if (o.progress == CommandProgress::FAILED && record->reason.empty()) {
        o.reason = std::string(proto::to_string(record->kind)) + " failed";
    }
    o.created_at = record->created_at;
    o.finished_at = record->finished_at;
    o.exit_code = record->exit_code;
    o.output = record->output;
    return o;
}

void HostServiceCommands::abandon_command(const std::string& command_id, const std::string& reason) {
    hosts_.abandon(command_id, reason);
    std::lock_guard lock(finished_mutex_);
    finished_.erase(command_id);
}

void HostServiceCommands::set_admin_state(const std::string& host, bool locked, const std::string& by,
                                          const std::string& reason, std::int64_t work_request) {
    if (admin_ != nullptr) {
        admin_->set({host, locked, by, reason, clock_.now_seconds(), work_request});
    }
}

void HostServiceCommands::host_alarm(const std::string& alarm_id, const std::string& host, bool raised,
                                     const std::string& reason) {
    if (alarms_ != nullptr) {
        alarms_->ensure(alarm_id, host_entity(host), raised, reason);
    }
}

void HostServiceCommands::refuse_if_alarmed(const std::vector<std::string>& hosts,
                                            const std::vector<std::string>& ignore) {
    if (alarms_ != nullptr) {
        controller::refuse_if_alarmed(*alarms_, hosts, ignore);
    }
}

}  // namespace patching::controller
