// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace patching::manager {

/// What the host lifecycle's commands need from sw-manager's session.
struct ManagerCalls {
    /// Sends a request; a refusal throws (the controller's message, for people).
    std::function<nlohmann::json(const std::string& method, const std::string& target, const nlohmann::json& body)>
        call;
    /// Prints `body` as JSON with --format json, else runs the text printer.
    std::function<void(const nlohmann::json& body, const std::function<void()>& text)> print;
    /// Follows a work request until it ends; true if it SUCCEEDED.
    std::function<bool(const std::string& id)> wait;
    std::ostream& out;
};

/// host-list, host-show, host-lock, host-unlock, host-reboot and alarm list|raise|clear
/// (README "Host lifecycle"), over /v1/hosts and /v1/alarms.
void add_host_commands(CLI::App& app, ManagerCalls& calls, int& rc);

}  // namespace patching::manager
