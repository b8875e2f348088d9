// SPDX-License-Identifier: Apache-2.0
#include "work/host_service_commands.hpp"

#include <shared_mutex>

namespace patching::controller {

namespace {

CommandOutcome outcome_of(const std::string& status, const std::string& reason) {
    if (status == "ok") {
        return {CommandProgress::SUCCEEDED, reason};
    }
    if (status == "rejected") {
        return {CommandProgress::REJECTED, reason};
    }
    if (status == "running" || status.empty()) {
        return {CommandProgress::RUNNING, reason};
    }
    return {CommandProgress::FAILED, reason.empty() ? "the install failed" : reason};
}

}  // namespace

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

CommandOutcome HostServiceCommands::install_outcome(const std::string& host, const std::string& command_id) {
    std::shared_lock data(state_.mutex);
    auto it = state_.hosts.find(host);
    if (it == state_.hosts.end()) {
        return {CommandProgress::FAILED, "the host was dropped from the host table"};
    }
    const HostRecord& h = it->second;
    if (h.install_request && h.install_request->request_id == command_id) {
        return {CommandProgress::RUNNING, h.install_status};
    }
    if (h.install_last_id == command_id) {
        return outcome_of(h.install_status, h.install_reason);
    }
    // After a controller restart the host table forgot the request; the agent's report still
    // names the last install it ran.
    if (h.agent && h.agent->install && h.agent->install->request_id == command_id) {
        return outcome_of(h.agent->install->status, h.agent->install->reason);
    }
    if (h.reported && h.agent) {
        return {CommandProgress::NOT_DELIVERED, ""};
    }
    return {CommandProgress::UNKNOWN, ""};
}

}  // namespace patching::controller
