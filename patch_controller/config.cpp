// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <common/ini.hpp>
#include <patch_core/errors.hpp>

#include <limits>

namespace patching::controller {

namespace {

constexpr int DAY = 86400;

// "a, b" -> absolute paths; a relative one is refused naming file:line.
void parse_import_roots(
    const common::ini::Entry& e, const std::string& where, std::vector<std::filesystem::path>& roots) {
    roots.clear();
    const std::string& v = e.value;
    for (std::size_t start = 0; start <= v.size();) {
        std::size_t end = v.find(',', start);
        std::string item = v.substr(start, end == std::string::npos ? std::string::npos : end - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) {
            if (item[0] != '/') {
                throw common::ini::Error(where + ": import_roots: " + item + " is not an absolute path");
            }
            roots.emplace_back(item);
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
}

}  // namespace

ControllerConfig ControllerConfig::load(const std::filesystem::path& path) {
    ControllerConfig c;
    common::ini::Schema schema;
    schema.section("controller")
        .path("state_dir", c.state_dir)
        .path("repo_dir", c.repo_dir)
        .path("feed_dir", c.feed_dir)
        .path("trust_dir", c.trust_dir)
        .path("dev_marker", c.dev_marker)
        .text("running_release", c.running_release)
        .text("listen_address", c.listen_address)
        .number<std::uint16_t>("listen_port", c.listen_port, 0, 65535)
        .text("remote_address", c.remote_address)
        .number<std::uint16_t>("remote_port", c.remote_port, 0, 65535)
        .path("tls_certificate", c.tls_certificate)
        .path("tls_private_key", c.tls_private_key)
        .path("tokens_file", c.tokens_file)
        .path("local_token_file", c.local_token_file)
        .boolean("allow_unauthenticated_local", c.allow_unauthenticated_local)
        .number("semantic_timeout", c.semantic_timeout_seconds, 1, DAY)
        .number<std::uint64_t>(
            "max_upload_bytes", c.max_upload_bytes, 1, std::numeric_limits<std::int64_t>::max())
        .number("worker_threads", c.worker_threads, 1, 256)
        .number("agent_stale_seconds", c.agent_stale_seconds, 2, 7 * DAY)
        .number("agent_poll_seconds", c.agent_poll_seconds, 1, 60)
        .number("agent_session_idle_seconds", c.agent_session_idle_seconds, 1, DAY)
        .number("agent_key_recheck_seconds", c.agent_key_recheck_seconds, 1, DAY)
        .number("host_command_history", c.host_command_history, 1, 1'000'000)
        .number("header_timeout_seconds", c.header_timeout_seconds, 1, DAY)
        .number("idle_timeout_seconds", c.idle_timeout_seconds, 1, DAY)
        .number("read_timeout_seconds", c.read_timeout_seconds, 1, DAY)
        .number("max_connections_per_peer", c.max_connections_per_peer, 0, 1'000'000)
        .number("max_concurrent_uploads", c.max_concurrent_uploads, 1, 1024)
        .custom(
            "import_roots",
            [&c](const common::ini::Entry& e, const std::string& where) {
                parse_import_roots(e, where, c.import_roots);
            })
        .path("enrolment_token_file", c.enrolment_token_file)
        .boolean("metrics", c.metrics)
        .number("work_retention_days", c.work_retention_days, 1, 100 * 365)
        .number("work_install_timeout_seconds", c.work_install_timeout_seconds, 1, 7 * DAY)
        .number("work_tick_ms", c.work_tick_ms, 10, 60000)
        .number("job_misfire_grace_seconds", c.job_misfire_grace_seconds, 0, 7 * DAY)
        .number("host_reboot_timeout_seconds", c.host_reboot_timeout_seconds, 1, 7 * DAY)
        .number("host_hook_retries", c.host_hook_retries, 0, 100)
        .number("host_hook_retry_seconds", c.host_hook_retry_seconds, 0, DAY)
        .number("host_verify_timeout_seconds", c.host_verify_timeout_seconds, 1, DAY);
    schema.load(path);
    if (c.running_release.empty()) {
        throw core::Error(path.string() + ": running_release is required (this system's release, e.g. 22.12)");
    }
    if (c.agent_stale_seconds <= c.agent_poll_seconds) {
        throw core::Error(path.string() + ": agent_stale_seconds must be longer than agent_poll_seconds (" +
                          std::to_string(c.agent_poll_seconds) + "), or live agents would look stale");
    }
    if (c.agent_session_idle_seconds < 1 || c.agent_key_recheck_seconds < 1 || c.host_command_history < 1) {
        throw core::Error(path.string() +
                          ": agent_session_idle_seconds, agent_key_recheck_seconds and host_command_history must be "
                          "at least 1");
    }
    if (!c.remote_address.empty() && (!c.tls_certificate || !c.tls_private_key)) {
        throw core::Error(path.string() + ": remote_address needs tls_certificate and tls_private_key "
                                          "(the remote API is served over TLS only)");
    }
    return c;
}

}  // namespace patching::controller
