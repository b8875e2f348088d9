// SPDX-License-Identifier: Apache-2.0
#include "agents/agent_api.hpp"

#include <common/log.hpp>

#include "hosts/host_service.hpp"
#include "metrics/metrics.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <signing/mac.hpp>

#include <iostream>
#include <vector>

namespace patching::controller {

namespace proto = core::protocol;

namespace {

HttpResponse json_reply(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

// "ip:port" or "[v6]:port" -> the address part, for the host table's ip column.
std::string address_of(const std::string& remote) {
    if (!remote.empty() && remote.front() == '[') {
        return remote.substr(1, remote.find(']') - 1);
    }
    const auto colon = remote.rfind(':');
    return colon == std::string::npos ? remote : remote.substr(0, colon);
}

}  // namespace

AgentApi::AgentApi(const ControllerConfig& config, HostService& service, AgentRegistry& registry,
                   const core::Clock& clock)
    : config_(config), service_(service), registry_(registry), clock_(clock) {
    timer_ = std::thread([this] { timer_loop(); });
}

AgentApi::~AgentApi() {
    stop();
}

void AgentApi::stop() {
    {
        std::lock_guard lock(timer_mutex_);
        timer_stopping_ = true;
    }
    timer_cv_.notify_all();
    if (timer_.joinable()) {
        timer_.join();
    }
    // Answer the held polls while the server still runs: a held poll keeps its connection alive,
    // which must not outlive the server.
    std::map<std::string, HeldPoll> held;
    {
        std::lock_guard lock(polls_mutex_);
        held.swap(polls_);
    }
    for (auto& [host, poll] : held) {
        poll.response->complete_with_timeout_response();
    }
}

void AgentApi::timer_loop() {
    std::unique_lock lock(timer_mutex_);
    while (!timer_stopping_) {
        const core::Clock::TimePoint target = next_deadline_;
        clock_.wait_until(lock, timer_cv_, target, [&] { return timer_stopping_ || next_deadline_ < target; });
        if (timer_stopping_) {
            break;
        }
        if (clock_.now() < next_deadline_) {
            continue;  // an earlier deadline came in: wait for that one
        }
        next_deadline_ = core::Clock::TimePoint::max();  // polls held from now on lower it
        lock.unlock();
        const core::Clock::TimePoint left = expire_polls(clock_.now());
        lock.lock();
        next_deadline_ = std::min(next_deadline_, left);
    }
}

core::Clock::TimePoint AgentApi::expire_polls(core::Clock::TimePoint now) {
    std::vector<std::shared_ptr<DeferredResponse>> due;
    core::Clock::TimePoint earliest = core::Clock::TimePoint::max();
    {
        std::lock_guard lock(polls_mutex_);
        for (auto it = polls_.begin(); it != polls_.end();) {
            if (it->second.response->is_completed()) {
                it = polls_.erase(it);
            } else if (it->second.deadline <= now) {
                due.push_back(it->second.response);
                it = polls_.erase(it);
            } else {
                earliest = std::min(earliest, it->second.deadline);
                ++it;
            }
        }
    }
    for (auto& response : due) {
        response->complete_with_timeout_response();  // "nothing new": the agent polls again
    }
    return earliest;
}

bool AgentApi::handles(const std::string& path) {
    return path.rfind("/v1/agent/", 0) == 0;
}

namespace {
/// The metrics label of a refusal: one word per status the protocol refuses with.
const char* refusal_reason(int status) {
    switch (status) {
    case 400:
        return "malformed";
    case 401:
        return "unauthenticated";
    case 403:
        return "forbidden";
    case 404:
        return "unknown_message";
    case 405:
        return "method";
    case 409:
        return "conflict";
    case 426:
        return "protocol_version";
    default:
        return status >= 500 ? "controller_error" : "other";
    }
}
}  // namespace

HttpResponse AgentApi::refuse(const HttpRequest& request, int status, const std::string& message) const {
    common::log::warning("refused agent request " + request.method + " " + request.path + " from " + request.remote +
                         ": " + core::escape_unprintable(message));
    if (metrics_ != nullptr) {
        metrics_->count_agent_refusal(refusal_reason(status));
    }
    return json_reply(status, proto::error_json(message));
}

HttpResponse AgentApi::handle(const HttpRequest& request) {
    if (request.method != "POST") {
        return refuse(request, 405, "agent messages are POST requests");
    }
    try {
        if (request.path == proto::PATH_ENROL) {
            return enrol(request);
        }
        if (request.path == proto::PATH_HELLO) {
            return hello(request);
        }
        if (request.path != proto::PATH_POLL && request.path != proto::PATH_REPORT) {
            return refuse(request, 404, "unknown agent message " + request.path);
        }
        auto auth = registry_.authenticate(request);
        if (auto* refusal = std::get_if<AgentRefusal>(&auth)) {
            return refuse(request, refusal->status, refusal->message);
        }
        const AgentCaller& caller = std::get<AgentCaller>(auth);
        HttpResponse response;
        if (request.path == proto::PATH_POLL) {
            service_.agent_seen(caller.hostname, address_of(request.remote));  // a report records it itself
            response = poll(caller, request);
        } else {
            response = report(caller, request);
        }
        if (!response.deferred) {
            AgentRegistry::sign(caller, response);
        }
        return response;
    } catch (const proto::ProtocolVersionError& e) {
        // An agent of another version: say which versions meet and what to do, once per message.
        const std::string host = e.peer_hostname().empty() ? "the agent" : "patch-agent on " + e.peer_hostname();
        return refuse(request, 400,
                      "agent protocol version " + std::to_string(e.peer_version()) + " refused: this controller speaks "
                          "version " + std::to_string(proto::VERSION) + "; upgrade " + host +
                          " to a release that speaks version " + std::to_string(proto::VERSION) + " (" + e.what() +
                          ")");
    } catch (const proto::ProtocolError& e) {
        return refuse(request, 400, std::string("malformed agent message: ") + e.what());
    }
}

HttpResponse AgentApi::enrol(const HttpRequest& request) {
    if (!config_.enrolment_token_file) {
        return refuse(request, 403,
                      "self-enrolment is disabled on this controller: enrol the host with 'patch-controller "
                      "enrol-host NAME' and give the agent the credentials file");
    }
    std::string expected;
    try {
        expected = core::read_small_file(*config_.enrolment_token_file, 4096);
    } catch (const std::exception& e) {
        return refuse(request, 500, "cannot read the enrolment token file: " + core::format_error_chain(e));
    }
    while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\r' || expected.back() == ' ')) {
        expected.pop_back();
    }
    auto auth = request.headers.find("authorization");
    const std::string presented =
        auth != request.headers.end() && auth->second.rfind("Bearer ", 0) == 0 ? auth->second.substr(7) : "";
    if (expected.empty() || !signing::equal_constant_time(presented, expected)) {
        return refuse(request, 401, "enrolment needs the controller's enrolment token (Authorization: Bearer)");
    }
    const proto::EnrolRequest m = proto::parse_enrol_request(request.body);
    auto key = registry_.enrol(m.hostname);
    if (!key) {
        return refuse(request, 409,
                      "host " + m.hostname +
                          " is already enrolled; if it was reinstalled, run 'patch-controller revoke-host " +
                          m.hostname + "' first");
    }
    std::cout << "patch-controller: enrolled host " << m.hostname << " from " << request.remote << std::endl;
    return json_reply(200, proto::to_json(proto::EnrolReply{m.hostname, *key}));
}

HttpResponse AgentApi::hello(const HttpRequest& request) {
    const proto::HelloRequest m = proto::parse_hello_request(request.body);
    auto result = registry_.hello(m, config_.agent_poll_seconds * 1000, config_.agent_stale_seconds);
    if (auto* refusal = std::get_if<AgentRefusal>(&result)) {
        return refuse(request, refusal->status, refusal->message);
    }
    service_.agent_hello(m.hostname, m.boot_id, address_of(request.remote));
    return json_reply(200, proto::to_json(std::get<proto::HelloReply>(result)));
}

std::optional<HttpResponse> AgentApi::news_for(const AgentCaller& caller, std::uint64_t op_counter,
                                               const std::string& report_id) {
    const HostService::AgentNews news = service_.agent_news(caller.hostname, report_id);
    if (news.op_counter == op_counter && !news.send_report && !news.command) {
        return std::nullopt;
    }
    proto::PollReply reply;
    reply.op_counter = news.op_counter;
    reply.send_report = news.send_report;
    reply.command = news.command;
    return json_reply(200, proto::to_json(reply));
}

HttpResponse AgentApi::poll(const AgentCaller& caller, const HttpRequest& request) {
    const proto::PollRequest m = proto::parse_poll_request(request.body);
    if (auto now = news_for(caller, m.op_counter, m.report_id)) {
        return std::move(*now);
    }
    // Nothing new: hold the poll. The timeout answer ("nothing new") is signed now, since it
    // must carry this request's sequence number.
    proto::PollReply idle;
    idle.op_counter = m.op_counter;
    HttpResponse on_timeout = json_reply(200, proto::to_json(idle));
    AgentRegistry::sign(caller, on_timeout);
    {
        std::lock_guard lock(timer_mutex_);
        if (timer_stopping_) {
            return on_timeout;  // shutting down: nothing is held any more
        }
    }
    const int wait_ms = std::min(m.wait_ms, config_.agent_poll_seconds * 1000);
    auto deferred = std::make_shared<DeferredResponse>(std::chrono::milliseconds(wait_ms), std::move(on_timeout));
    const core::Clock::TimePoint deadline = clock_.now() + std::chrono::milliseconds(wait_ms);
    {
        std::lock_guard lock(polls_mutex_);
        auto& slot = polls_[caller.hostname];
        if (slot.response) {
            // An agent polls once at a time; an older poll of this host is a dead connection.
            slot.response->complete_with_timeout_response();
        }
        slot = HeldPoll{caller, m.op_counter, m.report_id, deferred, deadline};
    }
    {
        std::lock_guard lock(timer_mutex_);
        if (deadline < next_deadline_) {
            next_deadline_ = deadline;
            timer_cv_.notify_one();
        }
    }
    // News may have arrived between the check above and the registration: check again, so
    // a notify() racing this poll cannot be lost.
    notify(caller.hostname);
    HttpResponse response;
    response.deferred = std::move(deferred);
    return response;
}

HttpResponse AgentApi::report(const AgentCaller& caller, const HttpRequest& request) {
    const proto::AgentReport m = proto::parse_agent_report(request.body);
    if (m.hostname != caller.hostname) {
        return refuse(request, 403,
                      "host " + caller.hostname + " may not report for host " + m.hostname + " (report refused)");
    }
    service_.agent_report(m, address_of(request.remote));
    if (metrics_ != nullptr) {
        metrics_->count_agent_report();
    }
    proto::PollReply ack;
    ack.op_counter = service_.published_op_counter();
    return json_reply(200, proto::to_json(ack));
}

void AgentApi::notify(const std::string& hostname) {
    std::vector<HeldPoll> candidates;
    {
        std::lock_guard lock(polls_mutex_);
        if (!hostname.empty()) {
            auto it = polls_.find(hostname);
            if (it != polls_.end()) {
                candidates.push_back(it->second);
            }
        } else {
            for (auto it = polls_.begin(); it != polls_.end();) {
                if (it->second.response->is_completed()) {
                    it = polls_.erase(it);  // timed out: the agent polls again with fresh state
                    continue;
                }
                candidates.push_back(it->second);
                ++it;
            }
        }
    }
    for (auto& held : candidates) {
        if (held.response->is_completed()) {
            continue;
        }
        if (auto news = news_for(held.caller, held.op_counter, held.report_id)) {
            AgentRegistry::sign(held.caller, *news);
            if (held.response->complete(std::move(*news))) {
                std::lock_guard lock(polls_mutex_);
                auto it = polls_.find(held.caller.hostname);
                if (it != polls_.end() && it->second.response == held.response) {
                    polls_.erase(it);
                }
            }
        }
    }
}

}  // namespace patching::controller
