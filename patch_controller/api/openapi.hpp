// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "api/routes.hpp"

#include <map>
#include <string>
#include <vector>

namespace patching::controller {

/// The OpenAPI 3.1 document of the route table, served at GET /v1/openapi.json. Every route
/// must have an entry in api/openapi.cpp's table: undocumented_routes() names those without
/// one (a unit test fails on any).
std::string openapi_document(const std::map<std::string, Route>& routes);
/// Route table keys ("apply", "groups POST", ...) with no documentation entry.
std::vector<std::string> undocumented_routes(const std::map<std::string, Route>& routes);

}  // namespace patching::controller
