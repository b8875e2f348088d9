// SPDX-License-Identifier: Apache-2.0
#include "api/resource_request.hpp"

#include "api/rest_mapping.hpp"
#include "api/work_mapping.hpp"

#include <patch_core/errors.hpp>

namespace patching::controller {

using nlohmann::json;

HttpResponse resource_reply(int status, const json& body) {
    return json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

json parse_body(const RouteCall& c) {
    try {
        json body = json::parse(c.request.body.empty() ? std::string("{}") : c.request.body);
        if (!body.is_object()) {
            throw json::type_error::create(302, "the body is not a JSON object", nullptr);
        }
        return body;
    } catch (const json::exception& e) {
        throw ResourceRefusal{400, "InvalidParameter", std::string("the body is not a JSON object: ") + e.what(),
                              "body"};
    }
}

std::optional<std::int64_t> if_match(const RouteCall& c, const std::string& what) {
    auto it = c.request.headers.find("if-match");
    if (it == c.request.headers.end() || it->second == "*") {
        return std::nullopt;
    }
    std::string v = it->second;
    if (v.rfind("W/", 0) == 0) {
        v = v.substr(2);
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
    }
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
        throw ResourceRefusal{412, "PreconditionFailed",
                              "If-Match " + core::escape_unprintable(it->second) + " is not an ETag of this " + what,
                              "If-Match"};
    }
    return std::stoll(v);
}

}  // namespace patching::controller
