// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace patching::manager {

// sw-manager's text output: tables and details for people (--format json prints the bodies).

/// GET /v1/work-requests as a table (ID, STATUS, OUTCOME, OPERATION, TARGET/HOST, PROGRESS, ...).
std::string work_request_table(const nlohmann::json& list);
/// One work request, field per line, with its counters.
std::string work_request_detail(const nlohmann::json& wr);
/// "12 IN_PROGRESS 40% | 2 succeeded, 0 failed, 2 running, 1 waiting" (live progress of --wait).
std::string progress_line(const nlohmann::json& wr);
std::string log_table(const nlohmann::json& list);
std::string error_table(const nlohmann::json& list);
std::string group_table(const nlohmann::json& list);
std::string group_detail(const nlohmann::json& group);
/// "a,b,,c" -> {"a", "b", "c"} (command-line lists; empty items dropped).
std::vector<std::string> split_list(const std::string& text);
/// A host's labels: in effect, set by operators, reported by its agent, held back.
std::string labels_detail(const nlohmann::json& labels);

}  // namespace patching::manager
