// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "agent_config.hpp"
#include "commands/command_journal.hpp"
#include "installer/installer.hpp"
#include "metrics/textfile_metrics.hpp"
#include "net/http_client.hpp"
#include "reporter/agent_session.hpp"
#include "reporter/report_sender.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/messages.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace patching::agent {

/// The agent daemon: keeps a long poll open to the controller (the heartbeat, and how news
/// reaches it within a second), re-queries the repository and the rpmdb when the controller's
/// op_counter moves, the rpmdb changes or requery_seconds pass, reports whenever the report
/// changes, and runs the commands the controller sends (install) one at a time, each id at
/// most once (CommandJournal). Every timer reads `clock` (core::process_clock(): the system
/// clock, or in test builds the file PATCHING_CLOCK_FILE names).
///
/// Three threads: the poller only talks to the controller and queues work; the worker runs
/// queries and installs and builds reports; the report sender (ReportSender) sends them, so
/// neither an install nor a query waits for a report's round trip. The poller keeps polling
/// during an install, so a long install never makes the host look stale.
class AgentDaemon {
public:
    explicit AgentDaemon(AgentConfig config, const core::Clock& clock = core::process_clock());
    ~AgentDaemon();
    AgentDaemon(const AgentDaemon&) = delete;
    AgentDaemon& operator=(const AgentDaemon&) = delete;

    /// Recovers from an interrupted install, reads the command journal, starts both threads and
    /// returns. @throws core::Error if the command journal is damaged.
    void start();
    /// Stops both threads (an install in progress is finished first). Idempotent.
    void stop();

private:
    struct Work {
        bool requery = false;
        bool report = false;
        std::optional<core::protocol::Command> command;
    };

    void poll_loop();
    void work_loop();
    /// Re-plans against the repository (or, with rpmdb_only, against the index last fetched)
    /// and the rpmdb; on success the plan answers for `op_counter`.
    void requery(std::uint64_t op_counter, bool rpmdb_only = false);
    /// With config.prefetch, downloads what an install of the last query's plan needs (once per
    /// repository revision), so host-install does not wait for the downloads.
    void prefetch();
    /// Sets when prefetch() runs (a random moment within config.prefetch_spread_seconds), or
    /// forgets it when there is nothing to fetch.
    void schedule_prefetch();
    /// Runs `command` unless the journal says it ran: then reports the recorded outcome.
    void run_command(const core::protocol::Command& command);
    void run_install(const core::protocol::Command& command);
    // The host lifecycle (commands/lifecycle_commands.cpp).
    /// LOCK / UNLOCK: writes or removes the lock flag from the controller's state.
    void run_lock(const core::protocol::Command& command, bool lock);
    /// HOOK: runs the named phase's hook and reports its exit code and output.
    void run_hook_command(const core::protocol::Command& command);
    /// REBOOT: journals it with the boot id, then runs reboot_command; it stays running until
    /// the host is back (the controller sees the new boot id in the hello).
    void run_reboot(const core::protocol::Command& command);
    /// The controller's administrative state as the last lock or unlock command left it in
    /// <state_dir>/admin_lock; nullopt if none ever came.
    std::optional<bool> admin_locked() const;
    /// Runs the health hook; reports when its verdict changes.
    void check_health();
    /// A REBOOT found running at start: done if the boot id changed, else failed.
    void finish_reboot_at_start(CommandJournal::Entry& entry);
    /// Builds the report and hands it to the sender; returns at once.
    void send_report();
    ReportSender::Callbacks sender_callbacks();
    core::protocol::AgentReport build_report();
    core::protocol::HostState current_state();
    void queue(const Work& work);
    /// Sleeps up to `d` of clock time unless stopping. False if stopping.
    bool pause(std::chrono::milliseconds d);
    /// Records the command status in the journal (durably) and in the next report.
    void record_command(const core::protocol::CommandReport& status);
    void log(const std::string& message) const;
    /// Logs "install timing: total=MS step=MS ...", which bench/agent_bench.sh reads: `total` runs
    /// from the request to the result report handed to the sender; steps named after_* follow it.
    void log_timings(const std::vector<std::pair<std::string, double>>& timings,
                     std::chrono::steady_clock::duration total) const;

    AgentConfig config_;
    const core::Clock& clock_;
    std::atomic<bool> stopping_{false};
    /// Set once the worker has stopped: the poller keeps the session alive (the host is not
    /// stale) while an install runs to its end after SIGTERM. Before the clients: the poll
    /// client aborts on it.
    std::atomic<bool> poll_stopping_{false};
    HttpClient worker_http_;
    HttpClient poll_http_;
    Installer installer_;
    AgentSession session_;

    std::mutex mutex_;
    std::condition_variable wake_;
    Work pending_;
    bool worker_busy_ = false;
    std::uint64_t seen_counter_ = 0;   ///< Latest op_counter the controller told us.
    std::string result_reported_for_;  ///< Command whose result the controller has.

    // Worker-thread state (guarded by mutex_ where the poller reads it).
    std::optional<QueryResult> last_query_;
    std::string prefetched_revision_;  ///< The repository revision prefetch() last completed.
    std::optional<core::Clock::TimePoint> prefetch_due_;  ///< Worker thread only.
    std::mt19937 random_{std::random_device{}()};
    std::string query_error_;
    std::uint64_t query_counter_ = 0;  ///< op_counter the last query was made for.
    std::string sent_report_id_;       ///< Report the controller has.
    std::uint64_t report_seq_ = 0;
    std::string instance_id_;  ///< Random per start: report ids of two runs never collide.
    std::optional<CommandJournal> journal_;  ///< Loaded by start().
    std::optional<core::protocol::CommandReport> command_status_;  ///< The last command's.
    core::Clock::TimePoint rejected_at_{};
    bool rejection_shown_ = false;  ///< The controller shows install-rejected; report when it ends.
    bool installing_ = false;
    std::optional<std::string> interrupted_reason_;
    std::string health_;         ///< "" (no health hook), "ok", "failing" (worker thread)
    std::string health_output_;

    TextfileMetrics metrics_;
    ReportSender sender_;  ///< After what its callbacks touch: stopped and destroyed first.
    std::thread poller_;
    std::thread worker_;
};

/// patch-agent --install (boot time, spec §4.4): installs what the repository says, setting the
/// reboot-required flag instead of running in-service scripts. Returns the exit code.
int run_boot_install(const AgentConfig& config);
/// patch-agent --status: 1 if changes are pending, 0 if the host is current, 2 on error.
int run_status(const AgentConfig& config);

}  // namespace patching::agent
