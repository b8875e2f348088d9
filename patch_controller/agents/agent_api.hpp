// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "agents/agent_registry.hpp"
#include "http/http_server.hpp"
#include "config.hpp"

#include <patch_core/clock.hpp>

#include <condition_variable>
#include <thread>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace patching::controller {

class Metrics;

class HostService;

/// The controller's end of the agent protocol (patch_agent/PROTOCOL.md): enrolment, hello,
/// long polls and reports under /v1/agent/. Polls are answered at once when the agent has news
/// (a newer published op_counter, a command at the head of its queue, or we lack its report) and otherwise
/// held as deferred responses, without a thread each, until notify() brings news or the poll
/// times out. A poll's timeout is a time on `clock`: one timer thread answers the polls whose
/// time has come, and re-evaluates when the clock jumps (the HTTP server's own real-time timer
/// answers them too, whichever is first). Every refusal is logged with the peer's address.
class AgentApi {
public:
    /// The arguments must outlive this object. Starts the timer thread.
    AgentApi(const ControllerConfig& config, HostService& service, AgentRegistry& registry,
             const core::Clock& clock = core::process_clock());
    /// stop().
    ~AgentApi();
    /// Stops the timer thread; held polls are left to the HTTP server's timeout. Call it before
    /// the HTTP server stops (an answer must not reach a stopped server). Idempotent.
    void stop();
    AgentApi(const AgentApi&) = delete;
    AgentApi& operator=(const AgentApi&) = delete;

    /// True for paths this class serves.
    static bool handles(const std::string& path);
    HttpResponse handle(const HttpRequest& request);

    /// Wakes the held poll of `hostname` ("" = every agent) if it has news now.
    void notify(const std::string& hostname);

    /// Where reports and refusals are counted (none = not counted). Set before serving.
    void set_metrics(Metrics* metrics) { metrics_ = metrics; }

private:
    struct HeldPoll {
        AgentCaller caller;
        std::uint64_t op_counter = 0;
        std::string report_id;
        std::shared_ptr<DeferredResponse> response;
        core::Clock::TimePoint deadline;
    };

    HttpResponse enrol(const HttpRequest& request);
    HttpResponse hello(const HttpRequest& request);
    HttpResponse poll(const AgentCaller& caller, const HttpRequest& request);
    HttpResponse report(const AgentCaller& caller, const HttpRequest& request);
    /// The poll reply (unsigned) if the agent has news, else nullopt.
    std::optional<HttpResponse> news_for(const AgentCaller& caller, std::uint64_t op_counter,
                                         const std::string& report_id);
    HttpResponse refuse(const HttpRequest& request, int status, const std::string& message) const;
    void timer_loop();
    /// Answers the held polls whose deadline is past `now`; returns the earliest deadline left.
    core::Clock::TimePoint expire_polls(core::Clock::TimePoint now);

    const ControllerConfig& config_;
    HostService& service_;
    AgentRegistry& registry_;
    mutable std::mutex polls_mutex_;
    std::map<std::string, HeldPoll> polls_;  ///< hostname -> its held poll (one per host)
    Metrics* metrics_ = nullptr;

    const core::Clock& clock_;
    std::mutex timer_mutex_;
    std::condition_variable timer_cv_;
    bool timer_stopping_ = false;                                   ///< guarded by timer_mutex_
    core::Clock::TimePoint next_deadline_ = core::Clock::TimePoint::max();  ///< guarded by timer_mutex_
    std::thread timer_;
};

}  // namespace patching::controller
