// SPDX-License-Identifier: Apache-2.0
#include "host_install_poller.hpp"

#include <utility>

#include "output.hpp"

namespace patching::client {

HostInstallPoller::HostInstallPoller(std::string host, int max_retries)
    : host_(std::move(host)), max_retries_(max_retries) {}

HostInstallPoller::Step HostInstallPoller::observe_unreachable() {
    if (++retries_ <= max_retries_) {
        return {};
    }
    return {true, 1, "Lost communications with the patch controller\n"};
}

HostInstallPoller::Step HostInstallPoller::observe(const Response& response) {
    if (response.status != 200) {
        return {true, 1, format_op_result(response)};
    }
    const auto hosts = response.hosts();
    if (!hosts) {
        return {true, 1, "Invalid query-hosts data returned:\n" + format_debug(response)};
    }
    const core::rest::HostEntry* entry = nullptr;
    for (const auto& agent : hosts->data) {
        // The reference keeps the last match.
        if (agent.hostname == host_ || agent.ip == host_) {
            entry = &agent;
        }
    }
    if (entry == nullptr || !entry->state) {
        // Right after a controller restart the host table is empty for a while.
        if (++retries_ <= max_retries_) {
            return {};
        }
        return {true, 1, host_ + " agent has timed out.\n"};
    }
    const std::string& value = *entry->state;
    if (value == "installing" || entry->interim_state || entry->install_pending) {
        if (entry->stale) {
            // The agent went away in the middle: waiting longer would wait forever.
            return {true, 1, "\n" + host_ + " agent has stopped reporting (stale) during the installation.\n"};
        }
        return {false, 0, "."};
    }
    // Our agents say why; the reference's did not. Print the reason under the reference's line.
    const std::string& reason =
        entry->install_status == "rejected" ? entry->install_reject_reason : entry->failure_reason;
    const std::string details = reason.empty() ? "" : reason + "\n";
    if (value == "install-rejected") {
        return {true, 1, "\nInstallation rejected. Node must be locked\n" + details};
    }
    if (value == "install-failed") {
        return {true, 1, "\nInstallation failed. Please check logs for details.\n" + details};
    }
    if (value == "idle") {
        return {true, 0, "\nInstallation was successful.\n"};
    }
    return {true, 1, "\nPatch agent is reporting unknown state: " + value + "\n"};
}

}  // namespace patching::client
