// SPDX-License-Identifier: Apache-2.0
// patch-agent [--config FILE]            run the daemon
// patch-agent [--config FILE] --install  boot-time install from the controller's repository
// patch-agent [--config FILE] --status   exit 1 if the host needs patches, 0 if current
#include "agent_config.hpp"
#include "daemon.hpp"

#include <common/log.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/rpm/package.hpp>
#include <patch_core/systemd/service_manager.hpp>

#include <csignal>
#include <iostream>
#include <string>

namespace {
constexpr const char* USAGE =
    "usage: patch-agent [--config FILE] [--controller-url URL] [--install | --status]\n"
    "  (no option)  run the agent daemon: report to the controller, install on request\n"
    "  --install    install now what the controller's repository says (boot time: in-service\n"
    "               scripts are not run, the host is marked reboot-required instead)\n"
    "  --status     exit 1 if this host needs patches, 0 if it is current, 2 on error\n"
    "  --controller-url URL   use this controller instead of the configured one\n"
    "Default configuration: /etc/patching/patch-agent.conf\n"
    "Exit status (daemon): 0 stopped by SIGTERM/SIGINT, 1 error, 2 usage, 78 the configuration is invalid.\n";
}

int main(int argc, char** argv) {
    using namespace patching;
    std::string config_path = agent::DEFAULT_CONFIG;
    std::string mode;
    std::string controller_url;  // overrides the configuration (sw-patch install-local)
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--install" || arg == "--status") {
            mode = arg;
        } else if (arg == "--controller-url" && i + 1 < argc) {
            controller_url = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            std::cout << USAGE;
            return 0;
        } else {
            std::cerr << "patch-agent: unknown argument \"" << core::escape_unprintable(arg) << "\"\n" << USAGE;
            return 2;
        }
    }
    try {
        // Signals go to one sigwait below; block them before any thread starts.
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &signals, nullptr);
        std::signal(SIGPIPE, SIG_IGN);
        rpm::init_librpm();
        agent::AgentConfig config;
        try {
            config = agent::AgentConfig::load(config_path);
        } catch (const std::exception& e) {
            // Its own status, so that systemd does not restart an agent that cannot start.
            std::cerr << "patch-agent: error: " << core::format_error_chain(e) << "\n";
            return mode == "--status" ? 2 : core::service_manager::EXIT_CONFIG;
        }
        if (!controller_url.empty()) {
            config.controller_url = controller_url;
            while (config.controller_url.size() > 1 && config.controller_url.back() == '/') {
                config.controller_url.pop_back();
            }
        }
        if (mode == "--install") {
            return agent::run_boot_install(config);
        }
        if (mode == "--status") {
            return agent::run_status(config);
        }
        agent::AgentDaemon daemon(config);
        daemon.start();
        const common::log::Logger log("patch-agent[" + config.hostname + "]");
        log.info("running; controller " + config.controller_url + ", root " + config.root.string());
        core::service_manager::notify_ready("running; controller " + config.controller_url);
        int received = 0;
        sigwait(&signals, &received);
        log.info("stopping (signal " + std::to_string(received) + ")");
        // An install in progress runs to its end (librpm transactions are never interrupted); the
        // unit's TimeoutStopSec is sized for it.
        core::service_manager::notify_stopping("stopping: an install in progress runs to its end");
        daemon.stop();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "patch-agent: error: " << core::format_error_chain(e) << "\n";
        return mode == "--status" ? 2 : 1;
    }
}
