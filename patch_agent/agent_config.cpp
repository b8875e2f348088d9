// SPDX-License-Identifier: Apache-2.0
#include "agent_config.hpp"

#include <common/ini.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/messages.hpp>
#include <patch_core/patch_id.hpp>


#include <unistd.h>

#include <array>

namespace patching::agent {

namespace {

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
    AgentConfig c;
    bool subfunctions_given = false;
    common::ini::Schema schema;
    schema.section("agent")
        .text("hostname", c.hostname)
        .text("personality", c.personality)
        .custom(
            "subfunctions",
            [&](const common::ini::Entry& e, const std::string&) {
                c.subfunctions = split(e.value, ',');
                subfunctions_given = true;
            })
        .text("nodetype", c.nodetype)
        .custom("labels",
                [&](const common::ini::Entry& e, const std::string& where) {
                    c.labels.clear();
                    for (const auto& pair : split(e.value, ',')) {
                        const auto eq = pair.find('=');
                        const std::string name = pair.substr(0, eq);
                        if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size() || name.size() > 64 ||
                            name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                                std::string::npos ||
                            pair.size() - eq - 1 > 128) {
                            throw common::ini::Error(
                                where + ": labels: \"" + core::escape_unprintable(pair) +
                                "\" is not NAME=VALUE (a name of 1 to 64 letters, digits, '-', '_' or '.', a value of "
                                "1 to 128 characters); write e.g. labels = rack=r1, zone=a");
                        }
                        c.labels[name] = pair.substr(eq + 1);
                    }
                    if (c.labels.size() > core::protocol::MAX_REPORTED_LABELS) {
                        throw common::ini::Error(where + ": labels: at most " +
                                                 std::to_string(core::protocol::MAX_REPORTED_LABELS) + " labels");
                    }
                })
        .text("sw_version", c.sw_version)
        .text("controller_url", c.controller_url)
        .path("ca_file", c.ca_file)
        .path("root", c.root)
        .path("state_dir", c.state_dir)
        .path("credentials_file", c.credentials_file)
        .path("enrolment_token_file", c.enrolment_token_file)
        .number("poll_wait_seconds", c.poll_wait_seconds, 1, core::protocol::MAX_POLL_WAIT_MS / 1000)
        .number("requery_seconds", c.requery_seconds, 1, 86400)
        .boolean("prefetch", c.prefetch)
        .number("prefetch_spread_seconds", c.prefetch_spread_seconds, 0, 86400)
        .number("rpmdb_check_seconds", c.rpmdb_check_seconds, 1, 3600)
        .number("rejected_hold_seconds", c.rejected_hold_seconds, 0, 86400)
        .number("retry_max_seconds", c.retry_max_seconds, 1, 3600)
        .number("progress_interval_ms", c.progress_interval_ms, 0, 60000)
        .number("request_timeout_seconds", c.request_timeout_seconds, 1, 3600)
        .number("report_timeout_seconds", c.report_timeout_seconds, 1, 3600)
        .number("download_timeout_seconds", c.download_timeout_seconds, 1, 86400)
        .number("script_timeout_seconds", c.script_timeout_seconds, 1, 86400)
        .path("boot_id_file", c.boot_id_file)
        .path("metrics_textfile_dir", c.metrics_textfile_dir)
        .number("command_history", c.command_history, 1, 100000)
        .path("hook_dir", c.hook_dir)
        .number("hook_timeout_seconds", c.hook_timeout_seconds, 1, 86400)
        .number("health_interval_seconds", c.health_interval_seconds, 0, 86400)
        .number("health_timeout_seconds", c.health_timeout_seconds, 1, 86400)
        .custom("reboot_command", [&](const common::ini::Entry& e, const std::string&) {
            c.reboot_command = split(e.value, ' ');
        });
    schema.load(path);
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
    if (c.reboot_command.empty()) {
        throw core::Error(path.string() + ": reboot_command must name a program (e.g. systemctl reboot)");
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
