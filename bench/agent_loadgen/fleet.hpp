// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <patch_core/rpm/installed.hpp>
#include <string>
#include <vector>

namespace patching::bench {

/// What the simulated fleet looks like and how hard it pushes.
struct FleetOptions {
    std::string address = "127.0.0.1";  ///< The controller's API (plain http, an IP address).
    std::uint16_t port = 5487;
    std::string enrolment_token;
    int hosts = 5000;
    /// If > 0: set up this many hosts first, and the rest on SIGUSR1 (so one run can measure
    /// the same wave at two fleet sizes).
    int first_batch = 0;
    std::string prefix = "sim";  ///< Host names are <prefix>-00001 ...
    int first_index = 1;
    std::string release = "22.12";
    std::string personality = "controller";
    std::vector<std::string> subfunctions{"controller"};
    /// Every simulated host's rpmdb (the same for all of them).
    std::vector<rpm::InstalledPackage> installed;
    /// Hosts enrolling / saying hello / sending their first report at the same time.
    int setup_concurrency = 64;
    /// How long each poll asks to be held (the real agent's poll_wait_seconds, 25 s).
    int poll_wait_ms = 25000;
    /// Fetch primary and comps on every re-query, as the real agent does (repomd.xml always).
    bool fetch_repodata = true;
    /// Seconds between "stats" lines on stdout.
    int stats_seconds = 10;
    /// Install commands: < 0 refuses them ("rejected", as before); otherwise a host reports the
    /// install running, then after this many seconds its outcome ("ok", or "failed" with
    /// probability install_failure_rate). Nothing is installed: the rpmdb stays as it is.
    double install_seconds = -1;
    double install_failure_rate = 0;
    /// The host lifecycle (lock, unlock, hook commands): < 0 refuses them (as before); otherwise
    /// a host reports the command running, then "ok" after this many seconds. With it, a
    /// successful install makes the host current (and, with reboot_required, needing a reboot).
    double phase_seconds = -1;
    /// A reboot command: after this many seconds the host has a new boot id and says hello again
    /// (the controller finishes the reboot at that hello).
    double reboot_seconds = 5;
    bool reboot_required = false;
};

/// N simulated agents in one single-threaded, event-driven process (Boost.Asio coroutines),
/// speaking the real protocol: enrol, hello, a report computed by the agent's own planner from
/// the controller's repository, then one long poll held per host, re-querying the repository
/// and re-reporting whenever the controller's op_counter moves. Each host keeps two
/// connections, as patch-agent does (one for polls, one for reports and repository fetches).
///
/// Progress goes to stdout, one event per line, timestamps in seconds since the epoch:
///   ready HOSTS ELAPSED_S            every host of the batch has reported and holds a poll
///   news COUNTER TS                  the first host heard of a new op_counter
///   all-reported COUNTER TS P50_MS P99_MS   every host of the batch reported for COUNTER
///                                    (report round trips of that wave, percentiles)
///   stats ...                        counters, every stats_seconds
class Fleet {
public:
    explicit Fleet(FleetOptions options);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    /// Runs until SIGINT/SIGTERM. Returns the exit code: 0, or 1 if setup never completed.
    int run();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::bench
