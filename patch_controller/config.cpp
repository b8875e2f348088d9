// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <patch_core/errors.hpp>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

namespace patching::controller {

namespace {

bool parse_bool(const std::string& value, const std::string& key, const std::filesystem::path& file) {
    if (value == "true" || value == "yes" || value == "1") {
        return true;
    }
    if (value == "false" || value == "no" || value == "0") {
        return false;
    }
    throw core::Error(file.string() + ": " + key + " = " + value + " is not true or false");
}

template <class T>
T parse_number(const std::string& value, const std::string& key, const std::filesystem::path& file) {
    try {
        size_t used = 0;
        unsigned long long n = std::stoull(value, &used);
        if (used != value.size()) {
            throw std::invalid_argument(value);
        }
        return static_cast<T>(n);
    } catch (const std::exception&) {
        throw core::Error(file.string() + ": " + key + " = " + value + " is not a number");
    }
}

}  // namespace

ControllerConfig ControllerConfig::load(const std::filesystem::path& path) {
    boost::property_tree::ptree tree;
    try {
        boost::property_tree::ini_parser::read_ini(path.string(), tree);
    } catch (const boost::property_tree::ini_parser_error& e) {
        throw core::Error("cannot read configuration " + path.string() + ": " + e.message() +
                          (e.line() > 0 ? " (line " + std::to_string(e.line()) + ")" : ""));
    }
    ControllerConfig c;
    for (const auto& [section, values] : tree) {
        if (section != "controller") {
            throw core::Error(path.string() + ": unknown section [" + section + "] (expected [controller])");
        }
        for (const auto& [key, node] : values) {
            const std::string v = node.get_value<std::string>();
            if (key == "state_dir") {
                c.state_dir = v;
            } else if (key == "repo_dir") {
                c.repo_dir = v;
            } else if (key == "feed_dir") {
                c.feed_dir = v;
            } else if (key == "trust_dir") {
                c.trust_dir = v;
            } else if (key == "dev_marker") {
                c.dev_marker = v;
            } else if (key == "running_release") {
                c.running_release = v;
            } else if (key == "listen_address") {
                c.listen_address = v;
            } else if (key == "listen_port") {
                c.listen_port = parse_number<std::uint16_t>(v, key, path);
            } else if (key == "remote_address") {
                c.remote_address = v;
            } else if (key == "remote_port") {
                c.remote_port = parse_number<std::uint16_t>(v, key, path);
            } else if (key == "tls_certificate") {
                c.tls_certificate = v;
            } else if (key == "tls_private_key") {
                c.tls_private_key = v;
            } else if (key == "tokens_file") {
                c.tokens_file = v;
            } else if (key == "local_token_file") {
                c.local_token_file = v;
            } else if (key == "allow_unauthenticated_local") {
                c.allow_unauthenticated_local = parse_bool(v, key, path);
            } else if (key == "semantic_timeout") {
                c.semantic_timeout_seconds = parse_number<int>(v, key, path);
            } else if (key == "max_upload_bytes") {
                c.max_upload_bytes = parse_number<std::uint64_t>(v, key, path);
            } else if (key == "worker_threads") {
                c.worker_threads = parse_number<int>(v, key, path);
            } else if (key == "agent_stale_seconds") {
                c.agent_stale_seconds = parse_number<int>(v, key, path);
            } else if (key == "agent_poll_seconds") {
                c.agent_poll_seconds = parse_number<int>(v, key, path);
            } else if (key == "header_timeout_seconds") {
                c.header_timeout_seconds = parse_number<int>(v, key, path);
            } else if (key == "idle_timeout_seconds") {
                c.idle_timeout_seconds = parse_number<int>(v, key, path);
            } else if (key == "read_timeout_seconds") {
                c.read_timeout_seconds = parse_number<int>(v, key, path);
            } else if (key == "max_connections_per_peer") {
                c.max_connections_per_peer = parse_number<int>(v, key, path);
            } else if (key == "max_concurrent_uploads") {
                c.max_concurrent_uploads = parse_number<int>(v, key, path);
            } else if (key == "import_roots") {
                c.import_roots.clear();
                for (std::size_t start = 0; start <= v.size();) {
                    std::size_t end = v.find(',', start);
                    std::string item = v.substr(start, end == std::string::npos ? std::string::npos : end - start);
                    item.erase(0, item.find_first_not_of(" \t"));
                    item.erase(item.find_last_not_of(" \t") + 1);
                    if (!item.empty()) {
                        if (item[0] != '/') {
                            throw core::Error(path.string() + ": import_roots: " + item + " is not an absolute path");
                        }
                        c.import_roots.emplace_back(item);
                    }
                    if (end == std::string::npos) {
                        break;
                    }
                    start = end + 1;
                }
            } else if (key == "work_retention_days") {
                c.work_retention_days = parse_number<int>(v, key, path);
            } else if (key == "work_install_timeout_seconds") {
                c.work_install_timeout_seconds = parse_number<int>(v, key, path);
            } else if (key == "work_tick_ms") {
                c.work_tick_ms = parse_number<int>(v, key, path);
            } else if (key == "enrolment_token_file") {
                c.enrolment_token_file = v;
            } else {
                throw core::Error(path.string() + ": unknown setting \"" + key + "\" in [controller]");
            }
        }
    }
    if (c.running_release.empty()) {
        throw core::Error(path.string() + ": running_release is required (this system's release, e.g. 22.12)");
    }
    if (c.agent_poll_seconds < 1 || c.agent_poll_seconds > 60) {
        throw core::Error(path.string() + ": agent_poll_seconds must be between 1 and 60");
    }
    if (c.agent_stale_seconds <= c.agent_poll_seconds) {
        throw core::Error(path.string() + ": agent_stale_seconds must be longer than agent_poll_seconds (" +
                          std::to_string(c.agent_poll_seconds) + "), or live agents would look stale");
    }
    if (c.work_retention_days < 1 || c.work_install_timeout_seconds < 1 || c.work_tick_ms < 10 ||
        c.work_tick_ms > 60000) {
        throw core::Error(path.string() + ": work_retention_days and work_install_timeout_seconds must be at least 1, "
                                          "work_tick_ms between 10 and 60000");
    }
    if (!c.remote_address.empty() && (!c.tls_certificate || !c.tls_private_key)) {
        throw core::Error(path.string() + ": remote_address needs tls_certificate and tls_private_key "
                                          "(the remote API is served over TLS only)");
    }
    return c;
}

}  // namespace patching::controller
