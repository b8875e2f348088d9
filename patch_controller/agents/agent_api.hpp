// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "agents/agent_registry.hpp"
#include "http/http_server.hpp"
#include "config.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace patching::controller {

class Metrics;

class HostService;

/// The controller's end of the agent protocol (patch_agent/PROTOCOL.md): enrolment, hello,
/// long polls and reports under /v1/agent/. Polls are answered at once when the agent has news
/// (a newer published op_counter, a host-install request, or we lack its report) and otherwise
/// held as deferred responses, without a thread, until notify() brings news or the poll
/// times out. Every refusal is logged with the peer's address.
class AgentApi {
public:
    AgentApi(const ControllerConfig& config, HostService& service, AgentRegistry& registry);

    /// True for paths this class serves.
    static bool handles(const std::string& path);
    HttpResponse handle(const HttpRequest& request);

    /// Wakes the held poll of `hostname` ("" = every agent) if it has news now.
    void notify(const std::string& hostname);

    /// Number of polls held right now (for tests and the benchmark's figures).
    std::size_t held_polls() const;

    /// Where reports and refusals are counted (none = not counted). Set before serving.
    void set_metrics(Metrics* metrics) { metrics_ = metrics; }

private:
    struct HeldPoll {
        AgentCaller caller;
        std::uint64_t op_counter = 0;
        std::string report_id;
        std::shared_ptr<DeferredResponse> response;
    };

    HttpResponse enrol(const HttpRequest& request);
    HttpResponse hello(const HttpRequest& request);
    HttpResponse poll(const AgentCaller& caller, const HttpRequest& request);
    HttpResponse report(const AgentCaller& caller, const HttpRequest& request);
    /// The poll reply (unsigned) if the agent has news, else nullopt.
    std::optional<HttpResponse> news_for(const AgentCaller& caller, std::uint64_t op_counter,
                                         const std::string& report_id) const;
    HttpResponse refuse(const HttpRequest& request, int status, const std::string& message) const;

    const ControllerConfig& config_;
    HostService& service_;
    AgentRegistry& registry_;
    mutable std::mutex polls_mutex_;
    std::map<std::string, HeldPoll> polls_;  ///< hostname -> its held poll (one per host)
    Metrics* metrics_ = nullptr;
};

}  // namespace patching::controller
