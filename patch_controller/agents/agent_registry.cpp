// SPDX-License-Identifier: Apache-2.0
#include "agents/agent_registry.hpp"

#include "store/store.hpp"

#include <signing/mac.hpp>

#include <algorithm>

namespace patching::controller {

namespace proto = core::protocol;

namespace {

// An agent holds one session; a few more cover reconnects racing each other. Older ones go, so
// a flood of hellos (replayed or not) cannot grow memory.
constexpr std::size_t MAX_SESSIONS_PER_HOST = 4;
// Idle sessions are swept at most once per key_recheck: a sweep visits every session, and doing
// it on each hello made enrolling N hosts cost O(N^2) (55 % of the controller's CPU at 5,000 hosts).

std::string header(const HttpRequest& r, std::string_view name) {
    auto it = r.headers.find(std::string(name));
    return it == r.headers.end() ? std::string() : it->second;
}

}  // namespace

AgentRegistry::AgentRegistry(Store& store, const core::Clock& clock, AgentTimers timers)
    : store_(store), clock_(clock), timers_(timers) {}

std::optional<std::string> AgentRegistry::stored_key(const std::string& hostname) const {
    auto hex = store_.host_key(hostname);
    if (!hex) {
        return std::nullopt;
    }
    try {
        return proto::from_hex(*hex, proto::HOST_KEY_BYTES);
    } catch (const std::exception&) {
        return std::nullopt;  // a damaged row: that host has to be revoked and enrolled again
    }
}

std::optional<std::string> AgentRegistry::enrol(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    std::string key = signing::random_bytes(proto::HOST_KEY_BYTES);
    if (!store_.add_host_key(hostname, proto::to_hex(key))) {
        return std::nullopt;
    }
    return key;
}

bool AgentRegistry::revoke(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    drop_sessions_locked(hostname);
    return store_.remove_host_key(hostname);
}

void AgentRegistry::drop_sessions_locked(const std::string& hostname) {
    for (const auto& id : host_sessions_[hostname]) {
        sessions_.erase(id);
    }
    host_sessions_.erase(hostname);
}

std::variant<proto::HelloReply, AgentRefusal> AgentRegistry::hello(const proto::HelloRequest& request,
                                                                   int poll_wait_ms, int stale_after_s) {
    const std::optional<std::string> key = stored_key(request.hostname);
    std::lock_guard lock(mutex_);
    if (!key) {
        return AgentRefusal{401, "host " + request.hostname +
                                     " is not enrolled: enrol it (patch-controller enrol-host, or an enrolment token)"};
    }
    if (!proto::mac_equal(request.mac, proto::hello_mac(*key, request.hostname, request.client_nonce))) {
        return AgentRefusal{401, "hello from " + request.hostname +
                                     " has a bad MAC: the agent's key does not match the one issued at enrolment"};
    }
    const auto now = clock_.now();
    expire_sessions_locked(now);
    proto::HelloReply reply;
    reply.session = signing::random_bytes(proto::NONCE_BYTES);
    reply.server_nonce = signing::random_bytes(proto::NONCE_BYTES);
    reply.mac = proto::hello_reply_mac(*key, request.hostname, request.client_nonce, reply.session,
                                       reply.server_nonce);
    reply.poll_wait_ms = poll_wait_ms;
    reply.stale_after_s = stale_after_s;
    Session session;
    session.hostname = request.hostname;
    session.host_key = *key;
    session.key = proto::session_key(*key, reply.session, request.client_nonce, reply.server_nonce);
    session.last_used = now;
    session.key_checked = now;
    auto& ids = host_sessions_[request.hostname];
    while (ids.size() >= MAX_SESSIONS_PER_HOST) {
        sessions_.erase(ids.front());
        ids.erase(ids.begin());
    }
    ids.push_back(reply.session);
    sessions_.emplace(reply.session, std::move(session));
    return reply;
}

std::variant<AgentCaller, AgentRefusal> AgentRegistry::authenticate(const HttpRequest& request) {
    const std::string session_hex = header(request, proto::HEADER_SESSION);
    const std::string seq_text = header(request, proto::HEADER_SEQ);
    const std::string mac_hex = header(request, proto::HEADER_MAC);
    if (session_hex.empty() || seq_text.empty() || mac_hex.empty()) {
        return AgentRefusal{401, "agent request without session, sequence number or MAC headers"};
    }
    std::string session_id;
    std::string mac;
    std::uint64_t seq = 0;
    try {
        session_id = proto::from_hex(session_hex, proto::NONCE_BYTES);
        mac = proto::from_hex(mac_hex, 32);
        if (seq_text.size() > 19 || seq_text.find_first_not_of("0123456789") != std::string::npos) {
            throw proto::ProtocolError("bad sequence number");
        }
        seq = std::stoull(seq_text);
    } catch (const std::exception&) {
        return AgentRefusal{400, "agent request with malformed session, sequence number or MAC headers"};
    }
    std::unique_lock lock(mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) {
        // Normal after a controller restart: the agent says hello again on this answer.
        return AgentRefusal{401, "unknown or expired session: say hello again"};
    }
    Session& session = it->second;
    if (!proto::mac_equal(mac, proto::request_mac(session.key, request.method, request.path, seq, request.body))) {
        return AgentRefusal{401, "request from a session of " + session.hostname +
                                     " has a bad MAC (forged or corrupted in transit)"};
    }
    // The window is updated only for authentic messages, so a forger cannot burn sequence numbers.
    if (!session.window.accept(seq)) {
        return AgentRefusal{401, "request from " + session.hostname + " replays sequence number " + seq_text};
    }
    const auto now = clock_.now();
    session.last_used = now;
    AgentCaller caller{session.hostname, session.key, seq};
    if (now - session.key_checked > timers_.key_recheck || now < session.key_checked) {
        // Revoked or re-enrolled since the hello (possibly by another process): end the session.
        session.key_checked = now;
        const std::string host_key = session.host_key;
        lock.unlock();
        if (stored_key(caller.hostname) != host_key) {
            lock.lock();
            drop_sessions_locked(caller.hostname);
            return AgentRefusal{401, "host " + caller.hostname + " is no longer enrolled with this key"};
        }
    }
    return caller;
}

void AgentRegistry::sign(const AgentCaller& caller, HttpResponse& response) {
    response.headers[std::string(proto::HEADER_MAC)] =
        proto::to_hex(proto::response_mac(caller.session_key, caller.seq, response.status, response.body));
}

void AgentRegistry::expire_sessions_locked(core::Clock::TimePoint now) {
    if (now >= last_expiry_sweep_ && now - last_expiry_sweep_ < timers_.key_recheck) {
        return;
    }
    last_expiry_sweep_ = now;
    for (auto host = host_sessions_.begin(); host != host_sessions_.end();) {
        auto& ids = host->second;
        std::erase_if(ids, [&](const std::string& id) {
            auto s = sessions_.find(id);
            if (s == sessions_.end()) {
                return true;
            }
            if (now - s->second.last_used > timers_.session_idle) {
                sessions_.erase(s);
                return true;
            }
            return false;
        });
        host = ids.empty() ? host_sessions_.erase(host) : std::next(host);
    }
}

}  // namespace patching::controller
