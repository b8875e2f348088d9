// SPDX-License-Identifier: Apache-2.0
#include "tables.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

namespace patching::manager {

using nlohmann::json;

namespace {

std::string text_of(const json& v) {
    if (v.is_null()) {
        return "-";
    }
    if (v.is_string()) {
        return v.get<std::string>();
    }
    return v.dump();
}

std::string join(const json& list) {
    std::string out;
    for (const auto& item : list) {
        out += (out.empty() ? "" : ",") + text_of(item);
    }
    return out.empty() ? "-" : out;
}

/// Columns padded to their widest cell, two spaces apart.
std::string table(
    const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        width[i] = header[i].size();
        for (const auto& row : rows) {
            width[i] = std::max(width[i], row[i].size());
        }
    }
    std::ostringstream out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            text += cells[i];
            if (i + 1 < cells.size()) {
                text += std::string(width[i] - cells[i].size() + 2, ' ');
            }
        }
        out << text << "\n";
    };
    line(header);
    std::vector<std::string> rule;
    for (auto w : width) {
        rule.emplace_back(w, '=');
    }
    line(rule);
    for (const auto& row : rows) {
        line(row);
    }
    return out.str();
}

std::string counters(const json& c) {
    if (!c.is_object()) {
        return "";
    }
    return std::to_string(c.value("succeeded", 0)) + " succeeded, " +
           std::to_string(c.value("failed", 0)) + " failed, " +
           std::to_string(c.value("in_progress", 0)) + " running, " +
           std::to_string(c.value("waiting", 0)) + " waiting, " +
           std::to_string(c.value("skipped", 0)) + " skipped, " +
           std::to_string(c.value("canceled", 0)) + " canceled";
}

}  // namespace

std::string work_request_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& wr : list.value("items", json::array())) {
        const bool parent = wr["parent_id"].is_null();
        rows.push_back(
            {text_of(wr["id"]), text_of(wr["status"]), text_of(wr["outcome"]),
             text_of(wr["operation"]),
             parent ? text_of(wr["target"]["kind"]) + " " + text_of(wr["target"]["name"])
                    : "host " + text_of(wr["host"]),
             std::to_string(wr.value("percent_complete", 0)) + "%", text_of(wr["initiator"]),
             text_of(wr["time_accepted"])});
    }
    std::string out = table(
        {"ID", "STATUS", "OUTCOME", "OPERATION", "TARGET", "DONE", "INITIATOR", "ACCEPTED"}, rows);
    if (!list.value("next_page", json()).is_null()) {
        out += "More: --page " + text_of(list["next_page"]) + "\n";
    }
    return out;
}

std::string work_request_detail(const json& wr) {
    std::ostringstream out;
    auto field = [&](const char* label, const json& v) {
        out << label << ": " << text_of(v) << "\n";
    };
    field("ID", wr["id"]);
    field("Operation", wr["operation"]);
    field("Status", wr["status"]);
    field("Outcome", wr.value("outcome", json()));
    if (wr["parent_id"].is_null()) {
        out << "Target: " << text_of(wr["target"]["kind"]) << " " << text_of(wr["target"]["name"])
            << "\n";
        out << "Max concurrency: " << text_of(wr["params"].value("max_concurrency", json()))
            << "\n";
        out << "Max errors: " << text_of(wr["params"].value("max_errors", json())) << "\n";
        out << "Hosts: " << wr["counters"].value("total", 0) << " (" << counters(wr["counters"])
            << ")\n";
    } else {
        field("Parent", wr["parent_id"]);
        field("Host", wr["host"]);
        out << "Target: release " << text_of(wr["sw_version"]) << ", patches "
            << join(wr["target_set"]) << "\n";
        field("Command", wr["command_id"]);
        field("Failure", wr["failure_kind"]);
    }
    out << "Done: " << wr.value("percent_complete", 0) << "%\n";
    field("Initiator", wr["initiator"]);
    field("Created by", wr["created_by"]);
    field("Rerun of", wr["rerun_of"]);
    field("Retry of", wr["retry_of"]);
    field("Accepted", wr["time_accepted"]);
    field("Started", wr["time_started"]);
    field("Finished", wr["time_finished"]);
    if (!wr["time_scheduled"].is_null()) {
        field("Not before", wr["time_scheduled"]);
    }
    field("Message", wr["message"]);
    return out.str();
}

std::string progress_line(const json& wr) {
    return "Work request " + text_of(wr["id"]) + ": " + text_of(wr["status"]) + " " +
           std::to_string(wr.value("percent_complete", 0)) + "% (" + counters(wr["counters"]) + ")";
}

std::string log_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : list.value("items", json::array())) {
        rows.push_back(
            {text_of(e["timestamp"]), text_of(e["work_request_id"]),
             e["host"].get<std::string>().empty() ? "-" : text_of(e["host"]), text_of(e["phase"]),
             text_of(e["message"])});
    }
    return table({"TIME", "WR", "HOST", "PHASE", "MESSAGE"}, rows);
}

std::string error_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : list.value("items", json::array())) {
        rows.push_back(
            {text_of(e["timestamp"]), text_of(e["work_request_id"]), text_of(e["host"]),
             text_of(e["code"]), e.value("retryable", false) ? "yes" : "no",
             text_of(e["message"])});
    }
    return table({"TIME", "WR", "HOST", "CODE", "RETRYABLE", "MESSAGE"}, rows);
}

std::string group_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : list.value("items", json::array())) {
        std::string rule = g["rule"].value("personality", "");
        for (const auto& [k, v] : g["rule"]["labels"].items()) {
            rule += (rule.empty() ? "" : ",") + k + "=" + v.get<std::string>();
        }
        rows.push_back(
            {text_of(g["name"]), std::to_string(g["hosts"].size()), join(g["hosts"]),
             rule.empty() ? "-" : rule, text_of(g["description"])});
    }
    return table({"GROUP", "HOSTS", "MEMBERS", "RULE", "DESCRIPTION"}, rows);
}

std::string group_detail(const json& g) {
    std::ostringstream out;
    out << "Group: " << text_of(g["name"]) << "\n";
    out << "Description: " << text_of(g["description"]) << "\n";
    out << "Release: " << (g.value("sw_version", nlohmann::json()).is_string() ? text_of(g["sw_version"]) : "any")
        << "\n";
    out << "Static members: " << join(g["members"]) << "\n";
    out << "Rule: personality "
        << (g["rule"].value("personality", "").empty() ? "-" : text_of(g["rule"]["personality"]));
    for (const auto& [k, v] : g["rule"]["labels"].items()) {
        out << ", label " << k << "=" << v.get<std::string>();
    }
    out << "\nHosts now: " << join(g["hosts"]) << "\n";
    return out.str();
}

std::string labels_detail(const json& v) {
    auto pairs = [](const json& m) {
        std::string out;
        for (const auto& [k, value] : m.items()) {
            out += (out.empty() ? "" : ", ") + k + "=" + value.get<std::string>();
        }
        return out.empty() ? std::string("-") : out;
    };
    std::ostringstream out;
    out << text_of(v["host"]) << ": " << pairs(v["labels"]) << "\n";
    out << "  set by operators: " << pairs(v["set"]) << "\n";
    out << "  reported by its agent: " << pairs(v["reported"]) << "\n";
    if (!v["held"].empty()) {
        out << "  reported, held back (they would move the host to another group): " << pairs(v["held"])
            << "\n  apply them with: sw-manager group label " << text_of(v["host"]) << " --accept-reported\n";
    }
    return out.str();
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

}  // namespace patching::manager
