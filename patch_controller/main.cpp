// SPDX-License-Identifier: Apache-2.0
// patch-controller [--config FILE]                       run the daemon
// patch-controller [--config FILE] add-token NAME ROLE   create an API token (admin|reader)
#include "api/auth.hpp"
#include "config.hpp"
#include "daemon.hpp"

#include <patch_core/errors.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {
constexpr const char* USAGE =
    "usage: patch-controller [--config FILE]\n"
    "       patch-controller [--config FILE] add-token NAME admin|reader\n"
    "Default configuration: /etc/patching/patch-controller.conf\n";
}

int main(int argc, char** argv) {
    using namespace patching;
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
    try {
        controller::ControllerConfig config = controller::ControllerConfig::load(config_path);
        if (rest.empty()) {
            return controller::run_daemon(config);
        }
        if (rest.size() == 3 && rest[0] == "add-token" && (rest[2] == "admin" || rest[2] == "reader")) {
            std::string token = controller::Authenticator::add_token(
                config.tokens_file, rest[1], rest[2] == "admin" ? controller::Role::ADMIN : controller::Role::READER);
            std::cout << token << "\n";
            return 0;
        }
        std::cerr << USAGE;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "patch-controller: error: " << core::format_error_chain(e) << "\n";
        return 1;
    }
}
