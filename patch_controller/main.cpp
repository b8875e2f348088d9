// SPDX-License-Identifier: Apache-2.0
// patch-controller [--config FILE]                       run the daemon
// patch-controller [--config FILE] add-token NAME ROLE   create an API token (admin|reader|metrics)
// patch-controller [--config FILE] enrol-host NAME [--output FILE]   issue an agent's host key
// patch-controller [--config FILE] revoke-host NAME      forget a host's key
#include "agents/agent_registry.hpp"
#include "api/auth.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "config.hpp"
#include "daemon.hpp"

#include <common/log.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/messages.hpp>
#include <patch_core/systemd/service_manager.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {
constexpr const char* USAGE =
    "usage: patch-controller [--config FILE]\n"
    "       patch-controller [--config FILE] add-token NAME admin|reader|metrics\n"
    "       patch-controller [--config FILE] enrol-host HOSTNAME [--output FILE]\n"
    "       patch-controller [--config FILE] revoke-host HOSTNAME\n"
    "enrol-host writes the agent's credentials file (hostname and host key; default\n"
    "./HOSTNAME.credentials, mode 0600): copy it to the host as the agent's credentials_file.\n"
    "Default configuration: /etc/patching/patch-controller.conf\n"
    "Exit status: 0 stopped by SIGTERM/SIGINT, 1 error, 2 usage, 78 the configuration is invalid.\n";
}

int main(int argc, char** argv) {
    using namespace patching;
    common::log::set_program("patch-controller");
    std::string config_path = controller::DEFAULT_CONFIG;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            std::cout << USAGE;
            return 0;
        } else {
            rest.push_back(arg);
        }
    }
    controller::ControllerConfig config;
    try {
        config = controller::ControllerConfig::load(config_path);
    } catch (const std::exception& e) {
        // Its own status, so that systemd does not restart a daemon that cannot start.
        std::cerr << "patch-controller: error: " << core::format_error_chain(e) << "\n";
        return core::service_manager::EXIT_CONFIG;
    }
    try {
        if (rest.empty()) {
            return controller::run_daemon(config);
        }
        if (rest.size() == 3 && rest[0] == "add-token" &&
            (rest[2] == "admin" || rest[2] == "reader" || rest[2] == "metrics")) {
            const controller::Role role = rest[2] == "admin"    ? controller::Role::ADMIN
                                          : rest[2] == "reader" ? controller::Role::READER
                                                                : controller::Role::METRICS;
            std::string token = controller::Authenticator::add_token(config.tokens_file, rest[1], role);
            std::cout << token << "\n";
            return 0;
        }
        if ((rest.size() == 2 || (rest.size() == 4 && rest[2] == "--output")) && rest[0] == "enrol-host") {
            const std::string& host = rest[1];
            if (!core::protocol::is_valid_hostname(host)) {
                throw core::Error("\"" + core::escape_unprintable(host) + "\" is not a valid host name");
            }
            std::filesystem::create_directories(config.state_dir);
            controller::SqliteStore store(config.database());
            controller::AgentRegistry registry(store);
            auto key = registry.enrol(host);
            if (!key) {
                throw core::Error("host " + host + " is already enrolled; run 'patch-controller revoke-host " + host +
                                  "' first if it was reinstalled or its key leaked");
            }
            const std::filesystem::path out = rest.size() == 4 ? rest[3] : host + ".credentials";
            core::write_file_atomically(out, "hostname = " + host + "\nhost_key = " + core::protocol::to_hex(*key) + "\n",
                                        0600);
            std::cout << "Enrolled " << host << "; credentials written to " << out.string() << "\n";
            return 0;
        }
        if (rest.size() == 2 && rest[0] == "revoke-host") {
            controller::SqliteStore store(config.database());
            controller::AgentRegistry registry(store);
            if (!registry.revoke(rest[1])) {
                throw core::Error("host " + core::escape_unprintable(rest[1]) + " is not enrolled");
            }
            std::cout << "Revoked the key of " << rest[1] << "; its agent is refused from now on (within a minute "
                      << "for a running session)\n";
            return 0;
        }
        std::cerr << USAGE;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "patch-controller: error: " << core::format_error_chain(e) << "\n";
        return 1;
    }
}
