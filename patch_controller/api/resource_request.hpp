// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "api/routes.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace patching::controller {

// What every route of the resource API (work requests, groups, jobs, hosts, alarms) reads from a
// request and how it answers: one copy, used by api/work_routes.cpp, job_routes.cpp and
// host_routes.cpp.

/// `body` as JSON with `status` (invalid UTF-8 replaced, never thrown).
HttpResponse resource_reply(int status, const nlohmann::json& body);
/// The request's body as a JSON object ("" = {}). @throws ResourceRefusal 400 on field "body".
nlohmann::json parse_body(const RouteCall& c);
/// The revision an If-Match header asks for ("3", "\"3\"" or W/"3"); nullopt without one or
/// with "*". @throws ResourceRefusal 412 on field "If-Match" naming `what` if it is no ETag.
std::optional<std::int64_t> if_match(const RouteCall& c, const std::string& what = "resource");

}  // namespace patching::controller
