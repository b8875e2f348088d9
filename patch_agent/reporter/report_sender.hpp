// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/http_client.hpp"
#include "reporter/agent_session.hpp"

#include <patch_core/messages.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace patching::agent {

/// Sends the agent's reports on a thread of its own, so that whoever hands one over (an install
/// about to start its downloads, a librpm progress callback) never waits for the round trip.
/// Reports go out one at a time, in the order they were handed over. A report handed over while
/// an earlier one still waits replaces it: each report is the host's whole state, so only the
/// newest one matters.
///
/// Thread-safe. The callbacks run on the sender's thread, without its lock held.
class ReportSender {
public:
    struct Callbacks {
        /// The controller took `report` and answered `reply`.
        std::function<void(const core::protocol::AgentReport& report,
                           const core::protocol::PollReply& reply)>
            sent;
        /// `report` could not be sent: `error` says why (the controller's next poll answer asks
        /// for a report again).
        std::function<void(const core::protocol::AgentReport& report, const std::string& error)>
            failed;
        /// Nothing waits and nothing is being sent any more.
        std::function<void()> idle;
    };

    /// Starts the thread. `session` must outlive this object.
    ReportSender(AgentSession& session, HttpClientOptions options, Callbacks callbacks);
    /// stop()s.
    ~ReportSender();
    ReportSender(const ReportSender&) = delete;
    ReportSender& operator=(const ReportSender&) = delete;

    /// Queues `report` and returns at once.
    void send(core::protocol::AgentReport report);
    /// Whether a report waits or is being sent.
    bool busy() const;
    /// Sends what still waits, then ends the thread. Idempotent.
    void stop();

private:
    void run();

    AgentSession& session_;
    HttpClient http_;
    Callbacks callbacks_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<core::protocol::AgentReport> waiting_;  ///< Guarded by mutex_.
    bool sending_ = false;                                 ///< Guarded by mutex_.
    bool stopping_ = false;                                ///< Guarded by mutex_.
    std::thread thread_;
};

}  // namespace patching::agent
