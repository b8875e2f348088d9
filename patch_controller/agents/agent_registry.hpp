// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/http_server.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/messages.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <variant>
#include <vector>
#include <string>

namespace patching::controller {

class Store;

/// An authenticated agent request: who sent it and how to sign the answer.
struct AgentCaller {
    std::string hostname;
    std::string session_key;  ///< raw
    std::uint64_t seq = 0;
};

/// Why an agent request was refused: HTTP status and a message for the agent's log (and ours).
struct AgentRefusal {
    int status = 401;
    std::string message;
};

/// Timers of the AgentRegistry (ControllerConfig's agent_session_idle_seconds and
/// agent_key_recheck_seconds), read on its clock.
struct AgentTimers {
    std::chrono::seconds session_idle{600};
    std::chrono::seconds key_recheck{60};
};

/// Enrolled hosts and their sessions (patch_agent/PROTOCOL.md): issues host keys, opens
/// sessions with the hello handshake, and authenticates every later request (session, sequence
/// number in a replay window, HMAC). Keys live only in the Store, which is read at each
/// hello and again for each session once a minute, so `patch-controller enrol-host` and
/// `revoke-host` take effect on a running daemon. Sessions live only in memory: after a
/// controller restart agents say hello again, which they do on the first 401. Thread-safe.
class AgentRegistry {
public:
    /// `store` and `clock` must outlive the registry.
    explicit AgentRegistry(Store& store, const core::Clock& clock = core::process_clock(), AgentTimers timers = AgentTimers());

    /// Issues a key for a host that has none. nullopt if the host is already enrolled (revoke
    /// it first: a second key for one name would let a newcomer take over a host).
    std::optional<std::string> enrol(const std::string& hostname);
    bool revoke(const std::string& hostname);

    /// Checks the agent's proof and opens a session. Refusal for unknown hosts and bad MACs.
    std::variant<core::protocol::HelloReply, AgentRefusal> hello(const core::protocol::HelloRequest& request,
                                                                 int poll_wait_ms, int stale_after_s);

    /// Authenticates a request made inside a session: session header, fresh sequence number,
    /// MAC over method, path, sequence number and body.
    std::variant<AgentCaller, AgentRefusal> authenticate(const HttpRequest& request);

    /// Adds the response MAC header to `response` (covers the caller's sequence number).
    static void sign(const AgentCaller& caller, HttpResponse& response);

private:
    struct Session {
        std::string hostname;
        std::string host_key;
        std::string key;
        core::Clock::TimePoint key_checked;
        core::protocol::ReplayWindow window;
        core::Clock::TimePoint last_used;
    };
    void expire_sessions_locked(core::Clock::TimePoint now);
    void drop_sessions_locked(const std::string& hostname);
    std::optional<std::string> stored_key(const std::string& hostname) const;

    Store& store_;
    const core::Clock& clock_;
    AgentTimers timers_;
    mutable std::mutex mutex_;
    std::map<std::string, Session> sessions_;       ///< raw session id -> session
    std::map<std::string, std::vector<std::string>> host_sessions_;  ///< hostname -> session ids, oldest first
    core::Clock::TimePoint last_expiry_sweep_{};
};

}  // namespace patching::controller
