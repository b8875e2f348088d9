// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/http_server.hpp"
#include "service/errors.hpp"
#include "work/group_service.hpp"
#include "work/work_types.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace patching::controller {

// The resource API's JSON (work requests, groups, host installs): the one place where those
// objects and errors become JSON. Its one error body: {"code": ..., "message": ..., "field": ...}.

/// A refusal of the resource API itself (bad body, stale If-Match, reused Idempotency-Key).
struct ResourceRefusal {
    int status;
    std::string code;     ///< e.g. InvalidParameter, PreconditionFailed, IdempotencyKeyReused
    std::string message;
    std::string field;    ///< "" when no one field is at fault
};

/// {"code", "message", "field"} with `status`.
HttpResponse resource_error(int status, const std::string& code, const std::string& message,
                            const std::string& field = "");
/// A service error as the resource API answers it (statuses as http_status(); 412 for
/// PreconditionFailed; `field` from InvalidField).
HttpResponse resource_error(const ServiceError& error);
HttpResponse resource_error(const ResourceRefusal& refusal);

/// "2026-12-02T09:30:00Z", or null for 0.
nlohmann::json rfc3339(std::int64_t seconds);
nlohmann::json to_json(const StoredWorkRequest& wr);
nlohmann::json to_json(const WorkLogEntry& entry);
nlohmann::json to_json(const WorkError& error);
nlohmann::json to_json(const GroupView& group);
nlohmann::json to_json(const HostLabelsView& labels);
/// A strong ETag for a revision: "\"<revision>\"".
std::string etag(std::int64_t revision);

}  // namespace patching::controller
