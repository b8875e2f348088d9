// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "api/auth.hpp"
#include "api/http_server.hpp"
#include "config.hpp"

#include <atomic>
#include <filesystem>
#include <optional>

namespace patching::controller {

class AgentApi;
class PatchService;
class StateStore;

/// Maps the reference's REST paths (`/v1/<verb>/<args>` and `/patch/<verb>/<args>`) onto
/// PatchService, with the reference's JSON shapes plus HTTP statuses for machine clients:
/// 400 malformed, 401 no valid token, 403 role not allowed, 404 unknown patch, 409 wrong
/// state, 413 too large, 500 internal. Authenticates every request, authorises by role
/// (readers run queries only) and writes every mutating call to the audit log.
class ApiRoutes {
public:
    /// `agents` serves /v1/agent/ (the agent protocol authenticates with its own keys); null
    /// leaves those paths unserved.
    ApiRoutes(const ControllerConfig& config, PatchService& service, Authenticator& auth, StateStore& store,
              AgentApi* agents = nullptr);

    HttpResponse handle(const HttpRequest& request);
    /// Streams `POST /v1/upload?filename=X.patch` bodies to a fresh private file, after checking
    /// the caller may upload; other bodies stay in memory.
    std::optional<std::filesystem::path> body_policy(const HttpRequest& head);

private:
    HttpResponse serve_repository_file(const std::string& relative);

    const ControllerConfig& config_;
    PatchService& service_;
    Authenticator& auth_;
    StateStore& store_;
    AgentApi* agents_;
    std::atomic<int> mutating_in_flight_{0};
};

}  // namespace patching::controller
