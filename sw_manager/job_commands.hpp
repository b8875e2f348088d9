// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace patching::manager {

/// What the job commands need from sw-manager's session.
struct JobCli {
    /// Sends a request; a non-2xx answer throws (with the controller's message and field).
    std::function<nlohmann::json(
        const std::string& method,
        const std::string& target,
        const nlohmann::json& body,
        const std::vector<std::string>& headers)>
        call;
    /// Prints `body` as JSON with --format json, else runs `text`.
    std::function<void(const nlohmann::json& body, const std::function<void()>& text)> print;
    std::ostream& out;
};

/// `sw-manager job create|list|show|runs|run-now|skip-next|pause|resume|update|delete`: scheduled
/// jobs over /v1/jobs. Times are shown in the operator's zone (TZ, else the system's) and the
/// job's zone.
void add_job_commands(CLI::App& app, JobCli& cli);

/// A UTC time from the API ("2026-12-08T02:00:00Z") in the operator's zone: "2026-12-08 03:00
/// +01:00 CET"; the text itself if it cannot be read.
std::string in_operator_zone(const std::string& utc);

}  // namespace patching::manager
