// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "hosts/host_service.hpp"
#include "work/host_commands.hpp"

namespace patching::controller {

/// HostCommands over today's host table: HostService's single install-request slot per host.
/// The only file that knows how work requests reach hosts.
class HostServiceCommands final : public HostCommands {
public:
    HostServiceCommands(const ControllerConfig& config, ControllerState& state, HostService& hosts, const Clock& clock)
        : config_(config), state_(state), hosts_(hosts), clock_(clock) {}

    HostFacts facts(const std::string& host) override;
    std::vector<HostFacts> all_hosts() override;
    std::vector<std::string> desired_set(const std::string& sw_version) override;
    void check_install(const std::string& host) override { hosts_.check_install(host); }
    void start_install(const std::string& host, const std::string& command_id, bool force) override {
        hosts_.start_install(host, command_id, force);
    }
    CommandOutcome install_outcome(const std::string& host, const std::string& command_id) override;

private:
    /// REQUIRES: state_.mutex held.
    HostFacts facts_of(const HostRecord& h, std::int64_t now) const;

    const ControllerConfig& config_;
    ControllerState& state_;
    HostService& hosts_;
    const Clock& clock_;
};

}  // namespace patching::controller
