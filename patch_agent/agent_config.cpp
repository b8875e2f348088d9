// SPDX-License-Identifier: Apache-2.0
#include "agent_config.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/messages.hpp>
#include <patch_core/patch_id.hpp>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <unistd.h>

#include <array>
#include <charconv>

namespace patching::agent {

namespace {

int parse_int(const std::string& value, const std::string& key, const std::filesystem::path& file, int min, int max) {
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < min || n > max) {
        throw core::Error(file.string() + ": " + key + " must be a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not \"" + core::escape_unprintable(value) + "\"");
    }
    return n;
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::string part;
    for (const char c : text) {
        if (c == sep) {
            if (!part.empty()) {
                parts.push_back(part);
            }
            part.clear();
        } else if (c != ' ') {
            part += c;
        }
    }
    if (!part.empty()) {
        parts.push_back(part);
    }
    return parts;
}

}  // namespace

AgentConfig AgentConfig::load(const std::filesystem::path& path) {
    boost::property_tree::ptree tree;
    try {
        boost::property_tree::ini_parser::read_ini(path.string(), tree);
    } catch (const boost::property_tree::ini_parser_error& e) {
        throw core::Error("cannot read agent configuration " + path.string() + ": " + e.message() +
                          (e.line() > 0 ? " (line " + std::to_string(e.line()) + ")" : ""));
    }
    AgentConfig c;
    bool subfunctions_given = false;
    for (const auto& [section, values] : tree) {
        if (section != "agent") {
            throw core::Error(path.string() + ": unknown section [" + section + "] (expected [agent])");
        }
        for (const auto& [key, node] : values) {
            const std::string v = node.get_value<std::string>();
            if (key == "hostname") {
                c.hostname = v;
            } else if (key == "personality") {
                c.personality = v;
            } else if (key == "subfunctions") {
                c.subfunctions = split(v, ',');
                subfunctions_given = true;
            } else if (key == "nodetype") {
                c.nodetype = v;
            } else if (key == "sw_version") {
                c.sw_version = v;
            } else if (key == "controller_url") {
                c.controller_url = v;
            } else if (key == "ca_file") {
                c.ca_file = v;
            } else if (key == "root") {
                c.root = v;
            } else if (key == "state_dir") {
                c.state_dir = v;
            } else if (key == "credentials_file") {
                c.credentials_file = v;
            } else if (key == "enrolment_token_file") {
                c.enrolment_token_file = v;
            } else if (key == "poll_wait_seconds") {
                c.poll_wait_seconds = parse_int(v, key, path, 1, core::protocol::MAX_POLL_WAIT_MS / 1000);
            } else if (key == "requery_seconds") {
                c.requery_seconds = parse_int(v, key, path, 1, 86400);
            } else if (key == "rpmdb_check_seconds") {
                c.rpmdb_check_seconds = parse_int(v, key, path, 1, 3600);
            } else if (key == "rejected_hold_seconds") {
                c.rejected_hold_seconds = parse_int(v, key, path, 0, 86400);
            } else if (key == "retry_max_seconds") {
                c.retry_max_seconds = parse_int(v, key, path, 1, 3600);
            } else if (key == "progress_interval_ms") {
                c.progress_interval_ms = parse_int(v, key, path, 0, 60000);
            } else if (key == "request_timeout_seconds") {
                c.request_timeout_seconds = parse_int(v, key, path, 1, 3600);
            } else if (key == "report_timeout_seconds") {
                c.report_timeout_seconds = parse_int(v, key, path, 1, 3600);
            } else if (key == "download_timeout_seconds") {
                c.download_timeout_seconds = parse_int(v, key, path, 1, 86400);
            } else if (key == "script_timeout_seconds") {
                c.script_timeout_seconds = parse_int(v, key, path, 1, 86400);
            } else if (key == "boot_id_file") {
                c.boot_id_file = v;
            } else if (key == "command_history") {
                c.command_history = parse_int(v, key, path, 1, 100000);
            } else {
                throw core::Error(path.string() + ": unknown setting \"" + key + "\" in [agent]");
            }
        }
    }
    if (c.hostname.empty()) {
        std::array<char, 256> name{};
        if (::gethostname(name.data(), name.size() - 1) == 0) {
            c.hostname = name.data();
        }
    }
    if (!core::protocol::is_valid_hostname(c.hostname)) {
        throw core::Error(path.string() + ": hostname \"" + core::escape_unprintable(c.hostname) +
                          "\" is not a valid host name");
    }
    if (c.sw_version.empty()) {
        throw core::Error(path.string() + ": sw_version is required (this host's release, e.g. 22.12)");
    }
    if (auto problem = core::release_problem(c.sw_version)) {
        throw core::Error(path.string() + ": sw_version: " + *problem);
    }
    if (c.controller_url.rfind("http://", 0) != 0 && c.controller_url.rfind("https://", 0) != 0) {
        throw core::Error(path.string() + ": controller_url must be an http:// or https:// URL of the controller");
    }
    while (!c.controller_url.empty() && c.controller_url.back() == '/') {
        c.controller_url.pop_back();
    }
    if (!c.root.is_absolute() || !c.state_dir.is_absolute()) {
        throw core::Error(path.string() + ": root and state_dir must be absolute paths");
    }
    if (!subfunctions_given) {
        c.subfunctions = split(c.personality, '-');
    }
    if (c.subfunctions.empty()) {
        throw core::Error(path.string() + ": personality or subfunctions must name at least one of controller, "
                                          "worker, storage");
    }
    if (c.nodetype.empty()) {
        c.nodetype = c.subfunctions.front();
    }
    if (c.credentials_file.empty()) {
        c.credentials_file = c.state_dir / "credentials";
    }
    return c;
}

std::string AgentConfig::repo_url() const {
    return controller_url + "/updates/rel-" + sw_version;
}

}  // namespace patching::agent
