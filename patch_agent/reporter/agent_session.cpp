// SPDX-License-Identifier: Apache-2.0
#include "reporter/agent_session.hpp"

#include "net/http_client.hpp"

#include <common/ini.hpp>
#include <common/text.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <signing/mac.hpp>

#include <nlohmann/json.hpp>


namespace patching::agent {

namespace proto = core::protocol;

namespace {

std::string error_of(const HttpResult& r) {
    try {
        auto j = nlohmann::json::parse(r.body);
        if (j.is_object() && j.contains("error") && j["error"].is_string()) {
            return j["error"].get<std::string>();
        }
    } catch (const std::exception&) {
    }
    return "HTTP " + std::to_string(r.status);
}

}  // namespace

AgentSession::AgentSession(const AgentConfig& config) : config_(config) {}

void AgentSession::ensure_credentials(HttpClient& http) {
    std::lock_guard lock(mutex_);
    if (!host_key_.empty()) {
        return;
    }
    std::error_code ec;
    if (std::filesystem::exists(config_.credentials_file, ec)) {
        try {
            std::string host;
            std::string host_key;
            common::ini::Schema schema;
            schema.section("").text("hostname", host).text("host_key", host_key);
            schema.load(config_.credentials_file);
            if (host.empty() || host_key.empty()) {
                throw core::Error("hostname and host_key are required");
            }
            if (host != config_.hostname) {
                throw core::Error("they are for host " + host + ", this agent is " + config_.hostname);
            }
            host_key_ = proto::from_hex(host_key, proto::HOST_KEY_BYTES);
            if (host_key_.size() != proto::HOST_KEY_BYTES) {
                throw core::Error("host_key is not " + std::to_string(proto::HOST_KEY_BYTES) + " bytes");
            }
        } catch (const std::exception& e) {
            host_key_.clear();
            throw core::Error("cannot use the credentials in " + config_.credentials_file.string() + ": " + e.what() +
                              " (enrol the host again: patch-controller revoke-host, then enrol-host)");
        }
        return;
    }
    if (!config_.enrolment_token_file) {
        throw core::Error("no credentials at " + config_.credentials_file.string() +
                          ": run 'patch-controller enrol-host " + config_.hostname +
                          "' on the controller and copy the file here, or set enrolment_token_file");
    }
    const std::string token = std::string(common::trim(core::read_small_file(*config_.enrolment_token_file, 4096)));
    const HttpResult r = http.post(config_.controller_url + std::string(proto::PATH_ENROL),
                                   proto::to_json(proto::EnrolRequest{config_.hostname}),
                                   std::chrono::seconds(config_.request_timeout_seconds),
                                   {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
    if (r.status != 200) {
        throw core::Error("enrolment of " + config_.hostname + " at " + config_.controller_url +
                          " was refused: " + error_of(r));
    }
    const proto::EnrolReply reply = proto::parse_enrol_reply(r.body);
    if (reply.hostname != config_.hostname || reply.host_key.size() != proto::HOST_KEY_BYTES) {
        throw core::Error("the controller's enrolment reply is for another host or has a bad key");
    }
    std::filesystem::create_directories(config_.credentials_file.parent_path());
    core::write_file_atomically(config_.credentials_file,
                                "hostname = " + config_.hostname + "\nhost_key = " + proto::to_hex(reply.host_key) + "\n",
                                0600);
    host_key_ = reply.host_key;
}

std::string AgentSession::read_boot_id() const {
    std::string id;
    try {
        id = std::string(common::trim(core::read_small_file(config_.boot_id_file, 1024)));
    } catch (const std::exception& e) {
        throw core::Error("cannot read the boot id from " + config_.boot_id_file.string() + ": " + e.what() +
                          " (set boot_id_file in the agent's configuration to a file that has it)");
    }
    if (id.empty() || id.size() > proto::MAX_BOOT_ID) {
        throw core::Error("the boot id in " + config_.boot_id_file.string() + " is empty or longer than " +
                          std::to_string(proto::MAX_BOOT_ID) + " characters (set boot_id_file to the kernel's, " +
                          "/proc/sys/kernel/random/boot_id)");
    }
    return id;
}

void AgentSession::hello(HttpClient& http) {
    // REQUIRES: mutex_ held, host_key_ loaded.
    proto::HelloRequest request;
    request.hostname = config_.hostname;
    request.client_nonce = signing::random_bytes(proto::NONCE_BYTES);
    request.mac = proto::hello_mac(host_key_, request.hostname, request.client_nonce);
    request.boot_id = read_boot_id();
    const HttpResult r = http.post(config_.controller_url + std::string(proto::PATH_HELLO), proto::to_json(request),
                                   std::chrono::seconds(config_.request_timeout_seconds),
                                   {{"Content-Type", "application/json"}});
    if (r.status != 200) {
        throw core::Error("the controller at " + config_.controller_url + " refused the hello of " +
                          config_.hostname + ": " + error_of(r));
    }
    const proto::HelloReply reply = proto::parse_hello_reply(r.body);
    // Only the controller that issued our key can compute this: anyone else is an impostor.
    if (!proto::mac_equal(reply.mac, proto::hello_reply_mac(host_key_, request.hostname, request.client_nonce,
                                                            reply.session, reply.server_nonce))) {
        throw core::Error("the hello reply from " + config_.controller_url +
                          " is not signed with this host's key: not our controller, or the key was re-issued");
    }
    session_.id = proto::to_hex(reply.session);
    session_.key = proto::session_key(host_key_, reply.session, request.client_nonce, reply.server_nonce);
    session_.poll_wait_ms = reply.poll_wait_ms;
    next_seq_ = 1;
}

AgentSession::Session AgentSession::current_session(HttpClient& http) {
    std::lock_guard lock(mutex_);
    if (host_key_.empty()) {
        throw core::Error("the agent has no credentials yet");
    }
    if (session_.id.empty()) {
        hello(http);
    }
    return session_;
}

std::string AgentSession::call(HttpClient& http, std::string_view path, const std::string& body,
                               std::chrono::milliseconds timeout) {
    for (int attempt = 0;; ++attempt) {
        Session session = current_session(http);
        std::uint64_t seq = 0;
        {
            std::lock_guard lock(mutex_);
            if (session_.id != session.id) {
                continue;  // another thread renewed it meanwhile
            }
            seq = next_seq_++;
        }
        const HttpResult r = http.post(
            config_.controller_url + std::string(path), body, timeout,
            {{"Content-Type", "application/json"},
             {std::string(proto::HEADER_SESSION), session.id},
             {std::string(proto::HEADER_SEQ), std::to_string(seq)},
             {std::string(proto::HEADER_MAC), proto::to_hex(proto::request_mac(session.key, "POST", path, seq, body))}});
        if (r.status == 401 && attempt == 0) {
            // Unknown session (controller restarted, or the session expired): hello again, once.
            std::lock_guard lock(mutex_);
            if (session_.id == session.id) {
                session_.id.clear();
            }
            continue;
        }
        if (r.status != 200) {
            throw core::Error("the controller refused " + std::string(path) + " from " + config_.hostname + ": " +
                              error_of(r));
        }
        auto mac = r.headers.find(std::string(proto::HEADER_MAC));
        std::string expected = proto::response_mac(session.key, seq, static_cast<int>(r.status), r.body);
        std::string got;
        try {
            got = mac == r.headers.end() ? std::string() : proto::from_hex(std::string(common::trim(mac->second)), 32);
        } catch (const std::exception&) {
        }
        if (!proto::mac_equal(got, expected)) {
            throw core::Error("the answer to " + std::string(path) + " from " + config_.controller_url +
                              " is not authenticated (bad or missing MAC): ignored");
        }
        return r.body;
    }
}

proto::PollReply AgentSession::poll(HttpClient& http, const proto::PollRequest& request) {
    // Allow the controller its hold time plus network slack before giving up on the request.
    const auto timeout =
        std::chrono::milliseconds(request.wait_ms) + std::chrono::seconds(config_.request_timeout_seconds);
    return proto::parse_poll_reply(call(http, proto::PATH_POLL, proto::to_json(request), timeout));
}

proto::PollReply AgentSession::report(HttpClient& http, const proto::AgentReport& report) {
    return proto::parse_poll_reply(call(http, proto::PATH_REPORT, proto::to_json(report),
                                          std::chrono::seconds(config_.report_timeout_seconds)));
}

}  // namespace patching::agent
