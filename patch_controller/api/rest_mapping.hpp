// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hosts/host_service.hpp"
#include "http/http_server.hpp"
#include "service/errors.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace patching::controller {

// The one place where service results become HTTP: statuses for the error tree, the
// reference's JSON shapes (patch_core/rest.hpp) for results.

/// Which answers a caller gets (README "REST contract").
enum class Contract {
    /// The reference's (spec §6.1): handled errors are HTTP 200 with `error` set, internal
    /// errors 500, any method on the reference's paths. For callers without our header.
    REFERENCE,
    /// Ours: real statuses, and 405 for a method the route does not take. For callers that
    /// send core::rest::CLIENT_HEADER (sw-patch, sw-manager, the agent).
    OURS,
};
/// OURS if the request carries core::rest::CLIENT_HEADER, else REFERENCE.
Contract contract_of(const HttpRequest& request);

/// 400 invalid, 404 not found, 409 conflict, 422 invalid patch, 503 busy, 500 internal.
int http_status(ErrorKind kind);
/// http_status() for OURS; for REFERENCE 500 for internal errors and 200 for every other.
int http_status(ErrorKind kind, Contract contract);
/// The status of a refusal by the API layer (`status` for OURS): a handled error, so 200 for
/// REFERENCE unless it is 5xx. Authentication (401/403), unknown paths (404) and size limits
/// (413) are answered before any handler and are not refusals in this sense.
int refusal_status(int status, Contract contract);

/// A JSON body with `status`.
HttpResponse json_response(int status, std::string body);
/// 200 {"info", "warning", "error": ""} for a successful operation.
HttpResponse op_response(const OpReport& report);
/// The error's status with {"info", "warning", "error"}: what was done before it, and its lines.
HttpResponse error_response(const ServiceError& error, Contract contract = Contract::OURS);
/// {"info": "", "warning": "", "error": message} with `status` (refusals of the API layer).
HttpResponse refusal_response(int status, const std::string& message);
/// A handled refusal: refusal_response() with refusal_status(status, contract).
HttpResponse refusal_response(int status, const std::string& message, Contract contract);

/// Renders the host table (`{"data": [...]}`, spec §3.7 fields plus ours). `brief` leaves out
/// the package lists (installed, to_remove, missing_pkgs, duplicated_pkgs). Each report is
/// serialised once and reused until the host reports again, so a query over thousands of
/// hosts only renders the live fields. Thread-safe.
class HostTableRenderer {
public:
    std::string render(const std::vector<HostView>& hosts, bool brief);

private:
    struct Fragments {
        std::uint64_t revision = 0;
        const void* report = nullptr;
        std::string brief;  ///< Object members without braces.
        std::string lists;
    };
    static Fragments make_fragments(const HostView& host);

    std::mutex mutex_;
    std::map<std::string, Fragments> cache_;  ///< by hostname
};

}  // namespace patching::controller
