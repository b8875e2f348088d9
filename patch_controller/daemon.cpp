// SPDX-License-Identifier: Apache-2.0
#include "daemon.hpp"

#include "agents/agent_api.hpp"
#include "agents/agent_registry.hpp"
#include "api/auth.hpp"
#include "api/routes.hpp"
#include "controller.hpp"
#include "http/http_server.hpp"
#include "jobs/scheduler.hpp"
#include "metrics/metrics.hpp"
#include "metrics/timed_publisher.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "service/periodic_task.hpp"

#include <controller/faults/fault_points.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/rpm/package.hpp>
#include <patch_core/systemd/service_manager.hpp>

#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>

namespace patching::controller {

namespace {
/// Waits for SIGTERM or SIGINT and returns it. Under a systemd watchdog (WatchdogSec=), pings at
/// half the interval, but only while the HTTP event loop answers: a stuck loop stops the pings
/// and systemd restarts the daemon.
int wait_for_stop_signal(const sigset_t& signals, HttpServer& server) {
    const auto interval = core::service_manager::watchdog_interval();
    if (!interval) {
        int received = 0;
        sigwait(&signals, &received);
        return received;
    }
    const auto half = *interval / 2;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(half);
    const timespec period{static_cast<time_t>(secs.count()),
                          static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(half - secs).count())};
    for (;;) {
        const int received = sigtimedwait(&signals, nullptr, &period);
        if (received > 0) {
            return received;
        }
        if (server.responsive(std::chrono::duration_cast<std::chrono::milliseconds>(half / 2))) {
            core::service_manager::notify_watchdog();
        }
    }
}
}  // namespace

int run_daemon(const ControllerConfig& config) {
    // Signals are handled by one sigwait below, so block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    rpm::init_librpm();
    std::filesystem::create_directories(config.state_dir);
    SqliteStore store(config.database(), core::process_clock());
    signing::TrustOptions trust_options;
    trust_options.dev_marker = config.dev_marker;
    if (!std::filesystem::is_directory(config.trust_dir)) {
        throw core::Error("trust directory " + config.trust_dir.string() +
                          " does not exist: create it and put the certificates that sign patches in it");
    }
    Metrics metrics;
    CreaterepoPublisher createrepo(config.repo_dir);
    TimedPublisher timed(createrepo, metrics);
    RepoPublisher& publisher = config.metrics ? static_cast<RepoPublisher&>(timed) : createrepo;
    Controller controller(config, store, signing::TrustStore::load(config.trust_dir, trust_options), publisher,
                          core::process_clock());
    controller.recover();
    faults::arm_from_environment();  // after recovery: the point fires in an operation
    Authenticator auth(config);
    const core::Clock& clock = core::process_clock();
    AgentRegistry agent_registry(store, clock,
                                 {std::chrono::seconds(config.agent_session_idle_seconds),
                                  std::chrono::seconds(config.agent_key_recheck_seconds)});
    AgentApi agents(config, controller.hosts(), agent_registry, clock);
    controller.notifier().set([&agents](const std::string& host) { agents.notify(host); });
    ApiRoutes routes(config, controller, auth);
    if (config.metrics) {
        agents.set_metrics(&metrics);
        routes.set_metrics(&metrics);
    }

    HttpServerOptions options;
    // Agent reports carry package lists; every other API body is small.
    options.memory_body_limit = [](const std::string& path) -> std::uint64_t {
        return path == core::protocol::PATH_REPORT ? core::protocol::MAX_REPORT_MESSAGE : 1U << 20U;
    };
    options.worker_threads = config.worker_threads;
    options.max_file_body = config.max_upload_bytes;
    options.header_timeout_seconds = config.header_timeout_seconds;
    options.idle_timeout_seconds = config.idle_timeout_seconds;
    options.read_timeout_seconds = config.read_timeout_seconds;
    options.max_connections_per_peer = config.max_connections_per_peer;
    options.max_streamed_bodies = config.max_concurrent_uploads;
    options.streamed_busy = [&routes](const HttpRequest& r) { return routes.upload_busy_response(r); };
    HttpServer server(
        options,
        [&routes, &agents](const HttpRequest& r) {
            // The agent protocol authenticates with its own keys; everything else is the REST API.
            return AgentApi::handles(r.path) ? agents.handle(r) : routes.handle(r);
        },
        [&routes](const HttpRequest& r) -> std::optional<std::filesystem::path> {
            // Agents authenticate with their own keys (AgentApi), so only the REST API's policy
            // (its early 401, its uploads) applies to the rest.
            return AgentApi::handles(r.path) ? std::nullopt : routes.body_policy(r);
        });
    std::uint16_t port = server.listen(config.listen_address, config.listen_port, true);
    std::string endpoints = "http://" + config.listen_address + ":" + std::to_string(port);
    if (!config.remote_address.empty()) {
        std::uint16_t remote = server.listen(config.remote_address, config.remote_port, false,
                                             TlsFiles{*config.tls_certificate, *config.tls_private_key});
        const bool v6 = config.remote_address.find(':') != std::string::npos;
        endpoints += " https://" + (v6 ? "[" + config.remote_address + "]" : config.remote_address) + ":" +
                     std::to_string(remote);
    }
    server.start();
    // Work requests move on every work_tick_ms; the controller's own host alarms follow the host
    // table (HostAdmin::audit) every four ticks.
    PeriodicTask work_ticker("work requests", [&] { controller.work().tick(); },
                             std::chrono::milliseconds(config.work_tick_ms));
    Scheduler scheduler(controller.jobs(), clock);
    PeriodicTask host_monitor("host audit", [&] { controller.host_admin().audit(); },
                              std::chrono::milliseconds(config.work_tick_ms * 4));
    // The endpoints line first: api.port tells callers the daemon is up, and they may read the
    // log for the https port as soon as it appears.
    std::cout << "patch-controller: listening on " << endpoints << std::endl;
    core::write_file_atomically(config.state_dir / "api.port", std::to_string(port) + "\n");

    core::service_manager::notify_ready("serving on " + endpoints);
    const int received = wait_for_stop_signal(signals, server);
    std::cout << "patch-controller: stopping (signal " << received << ")" << std::endl;
    core::service_manager::notify_stopping("stopping: finishing the requests in progress");
    agents.stop();  // its timer answers polls through the server: stop it first
    server.stop();
    controller.notifier().set(nullptr);
    return 0;
}

}  // namespace patching::controller
