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
    const auto& body = response.body;
    if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
        return {true, 1, "Invalid query-hosts data returned:\n" + format_debug(response)};
    }
    const nlohmann::json* entry = nullptr;
    for (const auto& agent : body["data"]) {
        if (!agent.is_object()) {
            continue;
        }
        auto matches = [&](const char* key) {
            return agent.contains(key) && agent[key].is_string() &&
                   agent[key].get<std::string>() == host_;
        };
        // The reference keeps the last match.
        if (matches("hostname") || matches("ip")) {
            entry = &agent;
        }
    }
    const nlohmann::json* state = nullptr;
    if (entry != nullptr && entry->contains("state") && !(*entry)["state"].is_null()) {
        state = &(*entry)["state"];
    }
    if (state == nullptr) {
        // Right after a controller restart the host table is empty for a while.
        if (++retries_ <= max_retries_) {
            return {};
        }
        return {true, 1, host_ + " agent has timed out.\n"};
    }
    auto flag = [entry](const char* key) {
        return entry->contains(key) && (*entry)[key].is_boolean() && (*entry)[key].get<bool>();
    };
    auto text = [entry](const char* key) {
        return entry->contains(key) && (*entry)[key].is_string() ? (*entry)[key].get<std::string>() : std::string();
    };
    std::string value = state->is_string() ? state->get<std::string>() : state->dump();
    if (value == "installing" || flag("interim_state") || flag("install_pending")) {
        if (flag("stale")) {
            // The agent went away in the middle: waiting longer would wait forever.
            return {true, 1, "\n" + host_ + " agent has stopped reporting (stale) during the installation.\n"};
        }
        return {false, 0, "."};
    }
    // Our agents say why; the reference's did not. Print the reason under the reference's line.
    const std::string reason = text("install_status") == "rejected" ? text("install_reject_reason")
                                                                    : text("failure_reason");
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
