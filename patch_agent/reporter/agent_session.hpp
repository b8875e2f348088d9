// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/http_client.hpp"

#include "agent_config.hpp"

#include <patch_core/messages.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace patching::agent {


/// The agent's end of the protocol (patch_agent/PROTOCOL.md): credentials, enrolment, the hello
/// handshake, and authenticated requests whose responses are checked before anything in them
/// is believed. Shared by the poll thread and the worker thread, each with its own HttpClient;
/// sequence numbers come from one counter. On a 401 for an unknown session (controller
/// restarted) it says hello again and retries once.
class AgentSession {
public:
    explicit AgentSession(const AgentConfig& config);

    /// Loads the credentials file; if there is none and an enrolment token is configured, enrols
    /// and writes it (mode 0600). @throws core::Error saying how to enrol the host otherwise.
    void ensure_credentials(HttpClient& http);

    core::protocol::PollReply poll(HttpClient& http, const core::protocol::PollRequest& request);
    /// Sends a report; the reply carries the controller's published op_counter.
    core::protocol::PollReply report(HttpClient& http, const core::protocol::AgentReport& report);

    const std::string& hostname() const { return config_.hostname; }
    /// The host's boot id (config.boot_id_file), sent in every hello.
    /// @throws core::Error naming the file if it cannot be read or holds no boot id.
    std::string read_boot_id() const;

private:
    struct Session {
        std::string id;
        std::string key;
        int poll_wait_ms = 25000;
    };
    Session current_session(HttpClient& http);
    void hello(HttpClient& http);
    /// POSTs an authenticated body and returns the verified response body.
    std::string call(HttpClient& http, std::string_view path, const std::string& body,
                     std::chrono::milliseconds timeout);

    const AgentConfig& config_;
    std::mutex mutex_;
    std::string host_key_;
    Session session_;
    std::uint64_t next_seq_ = 1;
};

}  // namespace patching::agent
